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
decided turn by turn with --policy (default: the active policy) by the worker's own functions. Each of
--model and --policy is a path when one exists there, else a version registered in the replayed database
(`clearline models list`, `clearline policies list`). Only a conversation's first escalation counts; the
tier is the conversation's latest; turns after a hand-off the policy did not make are not replayed.

Precision: of the escalations with a verdict (the latest; an unflag without one counts as "wrong"), the
share judged "correct"; for the candidate, of those conversations it escalates too. Recall: of the
conversations whose escalation was judged "correct", the share escalated (current: all of them, 1.0).
The database is opened read-only. Exit code 2 on bad input."""


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    @app.command("replay", help=HELP)
    def replay_command(
        model: Annotated[
            str | None,
            typer.Option(
                help="candidate model: a checkpoint directory or a version registered in the database "
                "(default: the stored scores)"
            ),
        ] = None,
        policy: Annotated[
            str | None,
            typer.Option(
                help="candidate policy: a YAML file or a version registered in the database "
                "(default: the active one; CLEARLINE_POLICY_PATH while none is registered)"
            ),
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
    model: str | None,
    policy: str | None,
    since_text: str | None,
    until_text: str | None,
    database_url: str | None,
    explain: int = 0,
) -> dict[str, Any]:
    """Check the inputs (exit 2 with a message on bad ones), replay, and return the report as JSON."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from sentiment.settings import SentimentSettings
    from triage import replay_run
    from triage.errors import PolicyError
    from triage.registry.rules import InvalidCandidate, UnknownVersion
    from triage.replay import read_only_engine
    from triage.settings import get_settings

    settings = get_settings()
    since, until = moment(since_text, "since"), moment(until_text, "until")
    if since is not None and until is not None and since > until:
        raise fail(f"--since {since_text} is after --until {until_text}")
    started = time.perf_counter()
    url = database_url or settings.database_url
    try:
        engine = read_only_engine(url)
        with Session(engine) as session:
            chosen = replay_run.plan(
                session,
                model=model,
                policy=policy,
                since=since,
                until=until,
                configured_model=Path(SentimentSettings().model_dir),
                configured_policy=Path(settings.policy_path),
                files=True,
            )
        engine.dispose()
    except (UnknownVersion, InvalidCandidate, PolicyError) as exc:
        raise fail(str(exc)) from exc
    except (SQLAlchemyError, ValueError) as exc:
        raise fail(f"cannot read the database {url}: {str(exc).splitlines()[0]}") from exc
    read = time.perf_counter()
    scorer = explainer = None
    try:
        if chosen.model is not None or explain > 0:
            scorer = replay_run.load_scorer(chosen.model or chosen.current_model)
            explainer = scorer
    except InvalidCandidate as exc:
        raise fail(str(exc)) from exc
    loaded = time.perf_counter()
    report = replay_run.run(
        chosen, scorer if chosen.model is not None else None, explain=explain, explainer=explainer
    )
    return {
        **report,
        "read_seconds": round(read - started, 2),
        "load_seconds": round(loaded - read, 2),  # the candidate model
        "seconds": round(time.perf_counter() - started, 2),  # all of it
    }


def summary(report: dict[str, Any]) -> str:
    """A few lines for a person."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    model, policy = report["model"], report["policy"]
    lines = [
        f"model:  {model['version'] or model['path']}"
        + (" (the current one)" if model["current"] else "")
        + ("" if model["rescored"] else ", stored scores"),
        f"policy: {policy['path'] or 'registered'} version {policy['version']}"
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
