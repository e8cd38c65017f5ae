"""The pipeline benchmark's own machinery, driven against a worker process with the fake scorer.

The figures that matter come from ``clearline bench pipeline`` with the real model; this checks that
the harness counts, times and cleans up correctly.
"""

from __future__ import annotations

import sys

from triage.benchmarks.pipeline import BenchConfig, run_pipeline_bench
from triage.settings import ROOT


def test_bench_counts_every_message_and_times_escalations(monkeypatch):
    monkeypatch.chdir(ROOT)  # the fake worker module is imported from the repository root
    config = BenchConfig(
        rate=40,
        duration=4,
        conversations=10,
        conversation_length=4,
        stressed_conversations=0.5,
        worker_cmd=[sys.executable, "-m", "tests.integration.triage.fake_worker"],
    )
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
