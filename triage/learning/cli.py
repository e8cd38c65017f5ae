"""``clearline recalibrate --from-feedback``: a candidate model whose stress calibration is refitted on the
agents' verdicts, measured on the newest verdicts before and after (``sentiment.recalibrate``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from triage.cli_input import fail

HELP = """Refit the stress calibration (Platt scaling) on people's verdicts and write a candidate model:
the same weights, the new scaling, its own version, a record of the fit and a model-card section.

Examples: each escalation by the policy with a verdict gives its message (latest verdict: correct =
stressed; wrong or unflagged = calm). The oldest (1 - holdout) share fits, the newest share measures ECE,
precision and recall of the current and the new calibration. GoEmotions dev joins the fit as a prior with
a total weight of --prior-weight examples (each verdict weighs 1), so scarce feedback moves the scaling
little. Register and try the candidate before promoting it:
  clearline models add DIR --reason ... --by ADMIN;  clearline replay --model DIR --json"""


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    @app.command("recalibrate", help=HELP)
    def recalibrate_command(
        from_feedback: Annotated[
            bool, typer.Option("--from-feedback", help="learn from the stored verdicts (required)")
        ] = False,
        model: Annotated[
            Path | None,
            typer.Option(
                help="base model directory (default: the active registered model, else CLEARLINE_MODEL_DIR)"
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(help="new directory for the candidate (default data/runtime/candidates/<version>)"),
        ] = None,
        holdout: Annotated[float, typer.Option(min=0.05, max=0.95, help="newest share held out")] = 0.3,
        prior_weight: Annotated[
            float,
            typer.Option(min=0.0, help="GoEmotions dev's total weight in the fit, in examples (0: none)"),
        ] = 200.0,
        database_url: Annotated[
            str | None, typer.Option(help="database URL (default CLEARLINE_DATABASE_URL)")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
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


def run(
    model: Path | None, out: Path | None, holdout: float, prior_weight: float, database_url: str | None
) -> dict[str, Any]:
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from sentiment.errors import ModelNotLoaded
    from sentiment.model import load_model
    from sentiment.recalibrate import NotEnoughFeedback, recalibrate, write_candidate
    from triage.learning.examples import feedback_examples
    from triage.replay import read_only_engine
    from triage.settings import RUNTIME_DIR, get_settings

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
