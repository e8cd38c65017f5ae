"""``clearline recalibrate --from-feedback``: a candidate model whose stress calibration is refitted on the
agents' verdicts, measured on the newest verdicts before and after (``sentiment.recalibrate``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from triage.cli_input import AsJson, DatabaseUrl, fail

FromFeedback = Annotated[
    bool, typer.Option("--from-feedback", help="learn from the stored verdicts (required)")
]
BaseModelDir = Annotated[
    Path | None,
    typer.Option(
        help="base model directory (default: the active registered model, else CLEARLINE_MODEL_DIR)"
    ),
]
Holdout = Annotated[float, typer.Option(min=0.05, max=0.95, help="newest share held out")]

HELP = """Refit the stress calibration (Platt scaling) on people's verdicts and write a candidate model:
the same weights, the new scaling, its own version, a record of the fit and a model-card section.

Examples: each escalation by the policy with a verdict gives its message (latest verdict: correct =
stressed; wrong or unflagged = calm). The oldest (1 - holdout) share fits, the newest share measures ECE,
precision and recall of the current and the new calibration. GoEmotions dev joins the fit as a prior with
a total weight of --prior-weight examples (each verdict weighs 1), so scarce feedback moves the scaling
little. Register and try the candidate before promoting it:
  clearline models add DIR --reason ... --by ADMIN;  clearline replay --model DIR --json"""


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    register_retrain(app)

    @app.command("recalibrate", help=HELP)
    def recalibrate_command(
        from_feedback: FromFeedback = False,
        model: BaseModelDir = None,
        out: Annotated[
            Path | None,
            typer.Option(help="new directory for the candidate (default data/runtime/candidates/<version>)"),
        ] = None,
        holdout: Holdout = 0.3,
        prior_weight: Annotated[
            float,
            typer.Option(min=0.0, help="GoEmotions dev's total weight in the fit, in examples (0: none)"),
        ] = 200.0,
        database_url: DatabaseUrl = None,
        as_json: AsJson = False,
    ) -> None:
        if not from_feedback:
            raise fail("say where to learn from: --from-feedback (the only source so far)")
        report = run(model, out, holdout, prior_weight, database_url)
        if as_json:
            typer.echo(json.dumps(report))
            return
        b, a = report["before"], report["after"]
        typer.echo(
            f"candidate {report['candidate_version']} in {report['path']}\n"
            f"held out {report['fit']['feedback_held_out']} verdicts: ECE {b['ece']} -> {a['ece']}, "
            f"precision {b['precision']} -> {a['precision']}, recall {b['recall']} -> {a['recall']}\n"
            f"next: clearline models add {report['path']} --reason '...' --by ADMIN"
        )


def _base_model(session: Any, model: Path | None) -> Path:
    from sentiment.settings import SentimentSettings
    from triage.registry.active import active_model

    if model is not None:
        return model
    active = active_model(session)
    return Path(active.path) if active is not None else Path(SentimentSettings().model_dir)


def _prior(weight: float) -> Any:
    import numpy as np

    from sentiment.errors import DatasetError
    from sentiment.goemotions import STRESS_LABELS, goemotions_dir, read_labels, read_tsv
    from sentiment.recalibrate import Prior

    if weight <= 0:
        return None
    try:
        directory = goemotions_dir()
        labels = read_labels(directory / "labels.txt")
        dev = read_tsv(directory / "dev.tsv", len(labels))
    except (OSError, DatasetError) as exc:
        raise fail(
            f"the GoEmotions dev prior cannot be read ({exc}); use --prior-weight 0 to fit without it"
        ) from exc
    index = [labels.index(name) for name in STRESS_LABELS]
    return Prior(dev.texts, dev.targets[:, index].max(axis=1).astype(np.float64), "goemotions/dev.tsv")


def _read(model: Path | None, database_url: str | None) -> tuple[Path, list[Any]]:
    """The base model's directory and the verdicts' examples, from a read-only connection."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from triage.learning.examples import feedback_examples
    from triage.replay import read_only_engine
    from triage.settings import get_settings

    url = database_url or get_settings().database_url
    try:
        engine = read_only_engine(url)
        with Session(engine) as session:
            base = _base_model(session, model)
            examples = feedback_examples(session)
        engine.dispose()
    except (SQLAlchemyError, ValueError) as exc:
        detail = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise fail(f"cannot read the database {url}: {detail} (run `clearline db upgrade`?)") from exc
    if not (base / "config.json").is_file():
        raise fail(f"{base} is not a model directory (no config.json)")
    return base, list(examples)


def run(
    model: Path | None, out: Path | None, holdout: float, prior_weight: float, database_url: str | None
) -> dict[str, Any]:
    from sentiment.errors import ModelNotLoaded
    from sentiment.model import load_model
    from sentiment.recalibrate import NotEnoughFeedback, recalibrate, write_candidate
    from triage.settings import RUNTIME_DIR

    base, examples = _read(model, database_url)
    try:
        loaded = load_model(base)
    except ModelNotLoaded as exc:
        raise fail(str(exc)) from exc
    try:
        result = recalibrate(
            loaded, examples, _prior(prior_weight), holdout=holdout, prior_weight=prior_weight
        )
    except NotEnoughFeedback as exc:
        raise fail(f"not enough feedback to learn from: {exc}") from exc
    target = out or RUNTIME_DIR / "candidates" / result.version.replace("@", "-").replace("+", "-")
    try:
        write_candidate(Path(base), target, result)
    except (FileExistsError, OSError) as exc:
        raise fail(str(exc)) from exc
    return {**result.as_dict(), "path": str(target.resolve())}


RETRAIN_HELP = """Fine-tune a candidate on people's verdicts and write it as a new model directory
(fp16 weights, thresholds and calibration refitted on GoEmotions dev, its own version from the weights, a
record of the run and a model-card section with the figures).

Corrected texts: the oldest (1 - holdout) share of the verdicts (flag wrong = calm, flag right = stressed;
other labels as the base predicts them), mixed with --replay-ratio GoEmotions train texts each so the model
does not forget the rest. Measured on the newest verdicts: both models' precision, recall and ECE.
Reproducible: the same verdicts, seed and settings give the same data digest and the same training run
(--threads 1 for bit-identical weights). Register and try it before promoting:
  clearline models add DIR --reason ... --by ADMIN;  clearline replay --model DIR --json"""


def register_retrain(app: typer.Typer) -> None:
    @app.command("retrain", help=RETRAIN_HELP)
    def retrain_command(
        from_feedback: FromFeedback = False,
        model: BaseModelDir = None,
        out: Annotated[
            Path | None,
            typer.Option(
                help="new directory for the candidate (default data/runtime/candidates/retrained-<time>)"
            ),
        ] = None,
        epochs: Annotated[int, typer.Option(min=1, max=20)] = 2,
        replay_ratio: Annotated[
            float, typer.Option(min=0.0, max=100.0, help="GoEmotions texts per verdict")
        ] = 4.0,
        learning_rate: Annotated[float, typer.Option(min=1e-7, max=1e-2, help="encoder rate")] = 2e-5,
        seed: int = 13,
        holdout: Holdout = 0.3,
        threads: Annotated[int | None, typer.Option(min=1, help="torch threads")] = None,
        database_url: DatabaseUrl = None,
        as_json: AsJson = False,
    ) -> None:
        from datetime import UTC, datetime

        from sentiment.errors import DatasetError
        from sentiment.goemotions import goemotions_dir, read_labels, read_tsv
        from sentiment.recalibrate import NotEnoughFeedback
        from sentiment.retrain import RetrainConfig, retrain
        from triage.settings import RUNTIME_DIR

        if not from_feedback:
            raise fail("say where to learn from: --from-feedback (the only source so far)")
        base, examples = _read(model, database_url)
        try:
            directory = goemotions_dir()
            labels = read_labels(directory / "labels.txt")
            train_set = read_tsv(directory / "train.tsv", len(labels))
            dev_texts = read_tsv(directory / "dev.tsv", len(labels)).texts
        except (OSError, DatasetError) as exc:
            raise fail(f"GoEmotions cannot be read ({exc}): set CLEARLINE_DATASETS_DIR") from exc
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = out or RUNTIME_DIR / "candidates" / f"retrained-{stamp}"
        config = RetrainConfig(
            epochs=epochs,
            replay_ratio=replay_ratio,
            learning_rate=learning_rate,
            seed=seed,
            holdout=holdout,
            threads=threads,
        )
        log = (lambda _line: None) if as_json else typer.echo
        try:
            report = retrain(base, target, examples, train_set, config, log, reference_texts=dev_texts)
        except NotEnoughFeedback as exc:
            raise fail(f"not enough feedback to learn from: {exc}") from exc
        except (FileExistsError, OSError, ValueError) as exc:
            raise fail(str(exc)) from exc
        if as_json:
            typer.echo(json.dumps(report))
            return
        b, a = report["held_out"]["base"], report["held_out"]["candidate"]
        typer.echo(
            f"candidate {report['candidate_version']} in {report['path']}\n"
            f"held out {report['data']['held_out']} verdicts: "
            f"precision {b['precision']} -> {a['precision']}, "
            f"recall {b['recall']} -> {a['recall']}, ECE {b['ece']} -> {a['ece']}\n"
            f"next: clearline models add {report['path']} --reason '...' --by ADMIN"
        )
