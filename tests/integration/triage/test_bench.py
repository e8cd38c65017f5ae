"""The pipeline benchmark's own machinery, driven against a worker process with the fake scorer.

The figures that matter come from ``clearline bench pipeline`` with the real model; this checks that
the harness counts, times and cleans up correctly.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from typer.testing import CliRunner

from api.cli import build_app
from triage.benchmarks.pipeline import BenchConfig, run_pipeline_bench
from triage.settings import ROOT


def with_fake_worker(**overrides: Any) -> BenchConfig:
    """40 messages a second, four per conversation, half of them turning stressed, to the fake worker."""
    defaults: dict[str, Any] = {
        "rate": 40,
        "conversation_length": 4,
        "stressed_conversations": 0.5,
        "worker_cmd": [sys.executable, "-m", "tests.integration.triage.fake_worker"],
    }
    return BenchConfig(**(defaults | overrides))


def test_bench_counts_every_message_and_times_escalations(monkeypatch):
    monkeypatch.chdir(ROOT)  # the fake worker module is imported from the repository root
    config = with_fake_worker(duration=4, conversations=10)
    figures = run_pipeline_bench(config)
    assert figures["messages"] == 160 and figures["lost"] == 0 and figures["duplicated"] == 0
    assert 30 <= figures["offered_per_s"] <= 45 and figures["processed_per_s"] > 20
    assert figures["escalations"] >= 1 and figures["escalation_p95_ms"] is not None
    assert figures["explained"] == figures["escalations"] and figures["explanation_ready_p95_ms"] is not None
    assert 0 < figures["score_p50_ms"] <= figures["score_p95_ms"]
    assert figures["worker_alive"] is True


def test_bench_reports_a_worker_that_cannot_start():
    config = BenchConfig(
        rate=10,
        duration=1,
        ready_timeout=30,
        worker_cmd=[sys.executable, "-c", "import sys; print('no model here'); sys.exit(3)"],
    )
    figures = run_pipeline_bench(config)
    assert figures["error"] == "worker exited with 3 before it was ready"
    assert "no model here" in figures["worker_log_tail"]


def test_bench_keeps_its_database_for_replay(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    kept = tmp_path / "kept.db"
    config = with_fake_worker(duration=2, conversations=6, keep_db=kept)
    figures = run_pipeline_bench(config)
    assert figures["messages"] == 80 and kept.is_file()
    result = CliRunner().invoke(
        build_app(("triage.replay_cli",)), ["replay", "--database-url", f"sqlite:///{kept}", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["messages"] == 80
    assert report["escalations_current"] == report["escalations_candidate"] == figures["escalations"]
    assert report["added"] == report["removed"] == report["priority_changed"] == []
    assert run_pipeline_bench(config)["error"] == f"{kept} exists; --keep-db names a new file"
