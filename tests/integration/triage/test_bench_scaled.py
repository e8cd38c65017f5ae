"""``clearline bench pipeline --broker rabbitmq``'s own machinery: workers behind RabbitMQ, kills, counts.

Driven with the fake scorer's worker process (the figures that matter come from the real model); real
RabbitMQ (a vhost of the test's own) and PostgreSQL.
"""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from api.cli import build_app
from tests.postgres import temporary_schema
from tests.rabbitmq import temporary_vhost
from triage.benchmarks.pipeline import BenchConfig
from triage.benchmarks.scaled import ScaleConfig, run_scaled_bench
from triage.settings import ROOT

FAKE_WORKER = [sys.executable, "-m", "tests.integration.triage.fake_worker"]


@pytest.mark.postgres
def test_two_workers_with_kills_lose_and_repeat_nothing_and_every_figure_is_there(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # the fake worker module is imported from the repository root
    base = BenchConfig(rate=30, duration=8, conversations=20, conversation_length=4, worker_cmd=FAKE_WORKER)
    with temporary_schema("bench_scaled") as database_url, temporary_vhost("clearline-bench") as url:
        figures = run_scaled_bench(ScaleConfig(base, 2, 3.0, database_url, url, partitions=4))
    assert "error" not in figures, figures
    assert figures["messages"] == 240 and figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["worker_kills"] >= 2 and figures["workers"] == 2 and figures["database"] == "postgresql"
    assert figures["out_of_order"] <= figures["out_of_order_flagged"]
    assert figures["escalations"] >= 1 and figures["explained"] == figures["escalations"]
    assert len(figures["events_by_live_worker"]) == 2 and sum(figures["events_by_live_worker"]) >= 0
    assert len(figures["worker_cpu_s_by_process"]) == 2 + figures["worker_kills"]
    assert figures["worker_cpu_ms_per_message"] > 0


def test_several_workers_need_postgresql_and_a_message_broker() -> None:
    assert run_scaled_bench(ScaleConfig(BenchConfig(), workers=2))["error"].startswith("several workers")
    result = CliRunner().invoke(build_app(), ["bench", "pipeline", "--workers", "2", "--json"])
    assert result.exit_code == 1 and "need --broker rabbitmq" in result.output
