"""``clearline replay``: stored conversations through a candidate model and/or policy, acting on nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from triage.cli_input import fail, moment

HELP = """Re-run the stored, redacted conversations through a candidate model and/or policy without
acting, and report what would change: escalations added and removed, priority and queue changes, flag
precision and recall against the stored feedback.

Current = what is stored (each message's stress, each conversation's first escalation by the policy).
Candidate = the stored customer texts re-scored with --model (when given; else the stored stress) and
decided turn by turn with --policy by the worker's own functions. Only a conversation's first escalation
counts; the tier is the conversation's latest; turns after a hand-off the policy did not make are not
replayed.

Precision: of the escalations with a verdict (the latest; an unflag without one counts as "wrong"), the
share judged "correct"; for the candidate, of those conversations it escalates too. Recall: of the
conversations whose escalation was judged "correct", the share escalated (current: all of them, 1.0).
The database is opened read-only. Exit code 2 on bad input."""


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    @app.command("replay", help=HELP)
    def replay_command(
        model: Annotated[
            Path | None,
            typer.Option(help="candidate model checkpoint directory (default: the stored scores)"),
        ] = None,
        policy: Annotated[
            Path | None, typer.Option(help="candidate policy YAML (default CLEARLINE_POLICY_PATH)")
        ] = None,
        since: Annotated[str | None, typer.Option(help="conversations started at or after (ISO)")] = None,
        until: Annotated[str | None, typer.Option(help="conversations started at or before (ISO)")] = None,
        database_url: Annotated[
            str | None, typer.Option(help="database URL (default CLEARLINE_DATABASE_URL)")
        ] = None,
        explain: Annotated[
            int,
            typer.Option(
                min=0,
                help="re-explain up to N escalations both agree on and list changed top words "
                "(several model passes each)",
            ),
        ] = 0,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ) -> None:
        report = run(model, policy, since, until, database_url, explain)
        if as_json:
            typer.echo(json.dumps(report))
            return
        typer.echo(summary(report))


def run(
    model: Path | None,
    policy_path: Path | None,
    since_text: str | None,
    until_text: str | None,
    database_url: str | None,
    explain: int = 0,
) -> dict[str, Any]:
    """Check the inputs (exit 2 with a message on bad ones), replay, and return the report as JSON."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from sentiment.settings import SentimentSettings
    from triage.domain.policy import load_policy
    from triage.errors import PolicyError
    from triage.replay import read_histories, read_only_engine, replay
    from triage.settings import get_settings

    settings = get_settings()
    since, until = moment(since_text, "since"), moment(until_text, "until")
    if since is not None and until is not None and since > until:
        raise fail(f"--since {since_text} is after --until {until_text}")
    current_policy_path = Path(settings.policy_path)
    candidate_policy_path = policy_path or current_policy_path
    try:
        candidate_policy = load_policy(candidate_policy_path)
        current_version = load_policy(current_policy_path).version
    except PolicyError as exc:
        raise fail(str(exc)) from exc
    current_model = Path(SentimentSettings().model_dir)
    if model is not None and not (model / "config.json").is_file():
        raise fail(f"--model {model}: not a model checkpoint directory (no config.json)")
    started = time.perf_counter()
    scorer = explainer = None
    if model is not None or explain > 0:
        scorer = _scorer(model or current_model)
        explainer = scorer
    loaded = time.perf_counter()
    url = database_url or settings.database_url
    try:
        engine = read_only_engine(url)
        with Session(engine) as session:
            histories = read_histories(session, since, until)
        engine.dispose()
    except (SQLAlchemyError, ValueError) as exc:
        raise fail(f"cannot read the database {url}: {str(exc).splitlines()[0]}") from exc
    read = time.perf_counter()
    report = replay(
        histories,
        candidate_policy,
        scorer if model is not None else None,
        explain=explain,
        explainer=explainer,
    ).as_dict()
    is_current_model = model is None or model.resolve() == current_model.resolve()
    return {
        **report,
        "model": {
            "path": str(model or current_model),
            "current": is_current_model,
            "rescored": model is not None,
        },
        "policy": {
            "path": str(candidate_policy_path),
            "version": candidate_policy.version,
            "current": candidate_policy_path.resolve() == current_policy_path.resolve()
            or candidate_policy.config == load_policy(current_policy_path).config,
            "current_version": current_version,
        },
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "load_seconds": round(loaded - started, 2),  # the candidate model
        "read_seconds": round(read - loaded, 2),
        "seconds": round(time.perf_counter() - started, 2),  # all of it
    }


def _scorer(path: Path) -> Any:
    from sentiment.errors import ModelNotLoaded
    from triage.worker.loop import SentimentScorer

    try:
        return SentimentScorer(str(path))  # the worker's scorer: sentiment's batched one
    except ModelNotLoaded as exc:
        raise fail(f"--model {path}: {exc}") from exc


def summary(report: dict[str, Any]) -> str:
    """A few lines for a person."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    model, policy = report["model"], report["policy"]
    lines = [
        f"model:  {model['path']}"
        + (" (the current one)" if model["current"] else "")
        + ("" if model["rescored"] else ", stored scores"),
        f"policy: {policy['path']} version {policy['version']}"
        + (" (the current one)" if policy["current"] else f" (current: {policy['current_version']})"),
        f"{report['conversations']} conversations, {report['messages']} customer messages, "
        f"{report['seconds']} s",
        f"escalations: {report['escalations_current']} now, {report['escalations_candidate']} with the "
        f"candidate: {len(report['added'])} added, {len(report['removed'])} removed, "
        f"{len(report['priority_changed'])} with another priority, {len(report['queue_changed'])} "
        "in another queue",
        f"precision: {pct(report['precision_current'])} now, {pct(report['precision_candidate'])} candidate; "
        f"recall: {pct(report['recall_current'])} now, {pct(report['recall_candidate'])} candidate "
        f"({report['feedback_used']} verdicts)",
    ]
    for entry in report["added"][:10]:
        lines.append(f"  + {entry['conversation_id']} P={entry['priority']} {entry['queue']}")
    for entry in report["removed"][:10]:
        lines.append(f"  - {entry['conversation_id']} P={entry['priority']} {entry['queue']}")
    for entry in report["explanation_changes"]:
        lines.append(f"  words {entry['conversation_id']}: {entry['current']} -> {entry['candidate']}")
    return "\n".join(lines)
