"""``clearline drift`` and ``clearline bias``: the model-monitoring figures from a shell, read-only (the
alerts come from the worker's leader, which runs the same drift figures every hour)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from triage.cli_input import AsJson, DatabaseUrl, fail, moment

Since = Annotated[
    str | None, typer.Option(help="from this day or time, ISO (default: 7 days before --until)")
]
Until = Annotated[str | None, typer.Option(help="up to this day or time, ISO, exclusive (default: now)")]


def window(since_text: str | None, until_text: str | None) -> tuple[datetime, datetime]:
    until = moment(until_text, "until") or datetime.now(UTC)
    since = moment(since_text, "since") or until - timedelta(days=7)
    if since >= until:
        raise fail(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    return since, until


def read(database_url: str | None, query: Callable[[Session], dict[str, Any]]) -> dict[str, Any]:
    """Run ``query`` on a read-only connection; a database that cannot be read is exit 2 with why."""
    from sqlalchemy.exc import SQLAlchemyError

    from triage.replay import read_only_engine
    from triage.settings import get_settings

    url = database_url or get_settings().database_url
    try:
        engine = read_only_engine(url)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        with Session(engine) as session:
            return query(session)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise fail(f"cannot read the database {url}: {detail} (run `clearline db upgrade`?)") from exc
    finally:
        engine.dispose()


def _drift_text(report: dict[str, Any]) -> str:
    lines = [
        f"model {report['model_version']} against {report['reference']['source']} "
        f"({report['reference']['n']} texts, flag rate {report['reference']['flag_rate']:.3f})",
        "day         messages  stress PSI  KS (p)              label PSI  flag rate  precision (judged)",
    ]
    for d in report["days"]:
        if not d["messages"]:
            lines.append(f"{d['day']}  {0:8d}  (no scored messages)")
            continue
        precision = "-" if d["flag_precision"] is None else f"{d['flag_precision']:.3f}"
        label_psi = "-" if d["label_psi"] is None else f"{d['label_psi']:.3f}"
        ks = f"{d['ks_statistic']:.3f} ({d['ks_pvalue']:.2g})"
        lines.append(
            f"{d['day']}  {d['messages']:8d}  {d['stress_psi']:10.3f}  {ks:<18}  {label_psi:>9}  "
            f"{d['flag_rate']:9.3f}  {precision} ({d['judged']})"
            + ("  ALERT: " + "; ".join(d["reasons"]) if d["alert"] else "")
        )
    return "\n".join(lines)


def _bias_text(report: dict[str, Any]) -> str:
    def rate(row: dict[str, Any], metric: str) -> str:
        return "-" if row[metric] is None else f"{row[metric]:.3f}"

    lines = []
    for dimension, rows in report["dimensions"].items():
        lines.append(f"{dimension}:")
        for row in rows:
            lines.append(
                f"  {row['segment']:<16} messages {row['messages']:6d} flag rate {rate(row, 'flag_rate')}  "
                f"conversations {row['conversations']:6d} escalation rate {rate(row, 'escalation_rate')}  "
                f"precision {rate(row, 'precision')} ({row['judged']})"
            )
    lines += [f"WARNING: {w}" for w in report["warnings"]] or ["no segment differs beyond the ratio"]
    return "\n".join(lines)


def _shadow_text(report: dict[str, Any]) -> str:
    if report["shadow_version"] is None:
        return "no shadow model (clearline models shadow VERSION --reason ... --by ADMIN)"
    lines = [
        f"shadow {report['shadow_version']}{'' if report['shadow_active'] else ' (no longer the shadow)'}: "
        f"{report['scored']} messages scored, flagged {report['flagged_shadow']} against the active "
        f"{report['flagged_active']}, {report['disagreements']} disagreement(s), agreement "
        f"{report['agreement']}, mean |stress difference| {report['mean_abs_stress_difference']}"
    ]
    for d in report["latest_disagreements"]:
        lines.append(
            f"  {d['at'][:19]}  {d['conversation_id']}  message {d['message_id']}: active {d['stress']:.3f} "
            f"({'flag' if d['flagged'] else 'no flag'}), shadow {d['shadow_stress']:.3f} "
            f"({'flag' if d['shadow_flagged'] else 'no flag'})"
        )
    return "\n".join(lines)


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    @app.command("drift")
    def drift_command(
        model: Annotated[
            Path | None,
            typer.Option(
                help="model directory (default: the active registered model, else CLEARLINE_MODEL_DIR)"
            ),
        ] = None,
        since: Since = None,
        until: Until = None,
        database_url: DatabaseUrl = None,
        as_json: AsJson = False,
    ) -> None:
        """Each day's stress and label distribution of one model's scores against the model's reference
        (its dev set): PSI, two-sample KS, flag rate and flag precision; ALERT where the configured
        thresholds are crossed (CLEARLINE_DRIFT_*)."""
        from sentiment.settings import SentimentSettings
        from triage.monitoring.drift import NoReference, drift_report, monitored_model, thresholds_from
        from triage.settings import get_settings

        start, end = window(since, until)

        def query(session: Session) -> dict[str, Any]:
            try:
                chosen = monitored_model(session, model, SentimentSettings().model_dir)
            except (NoReference, ValueError) as exc:
                raise fail(str(exc)) from exc
            return drift_report(session, chosen, start, end, thresholds_from(get_settings()))

        report = read(database_url, query)
        typer.echo(json.dumps(report) if as_json else _drift_text(report))

    @app.command("bias")
    def bias_command(
        since: Since = None, until: Until = None, database_url: DatabaseUrl = None, as_json: AsJson = False
    ) -> None:
        """Flag rate, escalation rate and flag precision by customer tier, channel, language, message
        length and hour, with 95 % Wilson intervals; a warning where a segment differs from the overall
        rate beyond CLEARLINE_BIAS_RATIO (segments of at least CLEARLINE_BIAS_MIN_SEGMENT)."""
        from triage.monitoring.bias import bias_report, thresholds_from
        from triage.settings import get_settings

        start, end = window(since, until)
        report = read(
            database_url, lambda session: bias_report(session, start, end, thresholds_from(get_settings()))
        )
        typer.echo(json.dumps(report) if as_json else _bias_text(report))

    @app.command("shadow")
    def shadow_command(
        version: Annotated[
            str | None, typer.Option(help="a shadow model version (default: the current shadow)")
        ] = None,
        limit: Annotated[
            int, typer.Option(min=0, max=10_000, help="disagreements listed, newest first")
        ] = 50,
        since: Since = None,
        until: Until = None,
        database_url: DatabaseUrl = None,
        as_json: AsJson = False,
    ) -> None:
        """Where the shadow model (scoring live traffic beside the active one, acting on nothing) and the
        active model disagree on the flag: counts, agreement and the latest disagreements."""
        from triage.monitoring.shadow import shadow_report

        start, end = window(since, until)
        report = read(
            database_url, lambda session: shadow_report(session, start, end, version=version, limit=limit)
        )
        typer.echo(json.dumps(report) if as_json else _shadow_text(report))
