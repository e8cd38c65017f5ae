"""The chat benchmark's parts that need no stack: its customers, its arithmetic, its CPU accounting."""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from api.benchmarks.chat import LoadResult, figures_of
from api.benchmarks.chat_scripts import ANGRY, HUMAN, conversation
from api.benchmarks.stack_processes import (
    CLOCK_TICKS,
    group_cpu_seconds,
    machine_cpu_seconds,
    procfile_commands,
)
from triage.benchmarks.pipeline import percentile


def test_conversations_have_one_to_eight_messages_in_the_asked_mix() -> None:
    rng = random.Random(3)
    scripts = [conversation(rng, angry_share=0.2, human_share=0.1) for _ in range(4000)]
    assert all(1 <= len(script.messages) <= 8 for script in scripts)
    kinds = Counter(script.kind for script in scripts)
    assert kinds["angry"] / 4000 == pytest.approx(0.2, abs=0.03)
    assert kinds["human"] / 4000 == pytest.approx(0.1, abs=0.03)
    assert kinds["flow"] > 0 and kinds["faq"] > 0
    assert all(set(s.messages) & set(ANGRY) for s in scripts if s.kind == "angry")
    assert all(s.messages[-1] in HUMAN for s in scripts if s.kind == "human")
    assert {len(s.messages) for s in scripts} >= {1, 2, 3, 4, 5, 6}


def test_no_angry_customers_when_none_are_asked_for() -> None:
    rng = random.Random(5)
    assert all(conversation(rng, angry_share=0.0).kind != "angry" for _ in range(500))


def test_percentiles_of_none_one_and_many() -> None:
    assert percentile([], 95) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([float(v) for v in range(1, 101)], 50) == pytest.approx(50.5)


def test_figures_divide_cpu_by_messages_and_by_the_measured_time() -> None:
    result = LoadResult(latencies_ms=[100.0] * 50 + [300.0] * 50, errors=2, conversations={"faq": 9})
    figures = figures_of(result, 10.0, [200.0, 400.0], {"rasa": 4.0, "worker": 0.5})
    assert figures["messages"] == 100
    assert figures["messages_per_s"] == 10.0
    assert figures["cpu_ms_per_message"] == {"rasa": 40.0, "worker": 5.0}
    assert figures["cpu_cores_busy"] == {"rasa": 0.4, "worker": 0.05}
    assert figures["escalations"] == 2 and figures["escalation_after_message_p95_ms"] == 390.0
    assert figures["errors"] == 2 and figures["reply_p50_ms"] == 200.0
    assert "escalations" not in figures_of(result, 10.0, None, {})
    assert "machine_cores" not in figures


def test_the_whole_machine_is_reported_in_cores_over_the_measured_time() -> None:
    result = LoadResult(latencies_ms=[100.0] * 10)
    machine = {"busy": 15.0, "idle": 4.0, "steal": 1.0}
    figures = figures_of(result, 10.0, None, {"bench_client": 2.0}, machine)
    assert figures["machine_cores"] == {"busy": 1.5, "idle": 0.4, "steal": 0.1}
    assert figures["cpu_ms_per_message"] == {"bench_client": 200.0}
    # readings that ran on past the measured seconds (replies still draining) are divided by their own time
    drained = figures_of(result, 10.0, None, {"bench_client": 2.0}, machine, window_s=12.5)
    assert drained["machine_cores"] == {"busy": 1.2, "idle": 0.32, "steal": 0.08}
    assert drained["cpu_cores_busy"] == {"bench_client": 0.16}
    assert drained["messages_per_s"] == 1.0  # messages are still counted over the measured seconds


def test_machine_cpu_reads_the_first_line_of_proc_stat(tmp_path: Path) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice, then one line per core
    (tmp_path / "stat").write_text(
        "cpu  100 20 30 400 50 6 4 40 0 0\ncpu0 50 10 15 200 25 3 2 20 0 0\nintr 123\n"
    )
    seconds = machine_cpu_seconds(tmp_path)
    assert seconds == {
        "busy": pytest.approx(160 / CLOCK_TICKS),
        "idle": pytest.approx(450 / CLOCK_TICKS),
        "steal": pytest.approx(40 / CLOCK_TICKS),
    }


def test_the_tail_is_split_by_first_and_later_messages_and_by_kind() -> None:
    result = LoadResult(
        latencies_ms=[100.0, 900.0, 120.0],
        by_step={"first": [900.0], "later": [100.0, 120.0], "flow": [900.0, 100.0, 120.0]},
    )
    steps = figures_of(result, 1.0, None, {})["reply_ms_by_step"]
    assert list(steps) == ["first", "flow", "later"]
    assert steps["first"] == {"p50": 900.0, "p95": 900.0, "messages": 1}
    assert steps["later"]["messages"] == 2 and steps["flow"]["messages"] == 3


def test_the_procfile_names_the_four_processes() -> None:
    assert set(procfile_commands()) == {"rasa", "actions", "api", "worker"}


def _stat(pid: int, command: str, group: int, ticks: tuple[int, int, int, int]) -> str:
    utime, stime, cutime, cstime = ticks
    rest = ["S", "1", str(group), *["0"] * 8, str(utime), str(stime), str(cutime), str(cstime), "20"]
    return f"{pid} ({command}) {' '.join(rest)}\n"


def test_group_cpu_sums_the_group_only_and_survives_odd_command_names(tmp_path: Path) -> None:
    for pid, command, group, ticks in [
        (10, "rasa", 10, (100, 50, 0, 0)),
        (11, "python (worker) x", 10, (30, 20, 5, 5)),  # parentheses and spaces in the name
        (12, "api", 12, (999, 999, 0, 0)),
    ]:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(_stat(pid, command, group, ticks))
    assert group_cpu_seconds(10, tmp_path) == pytest.approx(210 / CLOCK_TICKS)
    assert group_cpu_seconds(99, tmp_path) == 0


def test_group_cpu_of_this_process_grows_with_work() -> None:
    group = os.getpgid(0)
    before = group_cpu_seconds(group)
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert group_cpu_seconds(group) - before >= 0.2


def test_every_database_of_a_measurement_is_in_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tracker store kept from an earlier run (the user's own, data/runtime) would continue that run's
    conversations: the same seed gives the same customers, whose earlier hand-offs left them paused."""
    from api.benchmarks.chat import ChatBenchConfig, bench_env

    monkeypatch.setenv("CLEARLINE_RASA_TRACKER_URL", "sqlite:////somewhere/else/rasa_tracker.db")
    monkeypatch.setenv("CLEARLINE_EVENT_BROKER", "rabbitmq")
    env = bench_env(tmp_path, ChatBenchConfig(), patches=True)
    urls = {
        name: value for name, value in env.items() if name.startswith("CLEARLINE_") and "sqlite:" in value
    }
    assert set(urls) >= {
        "CLEARLINE_DATABASE_URL",
        "CLEARLINE_EVENTS_URL",
        "CLEARLINE_RASA_TRACKER_URL",
        "CLEARLINE_PROVIDER_DB_URL",
    }
    assert all(url == f"sqlite:///{tmp_path}/{Path(url).name}" for url in urls.values()), urls
    assert env["CLEARLINE_RASA_PATCHES"] == "on"
    assert env["CLEARLINE_EVENT_BROKER"] == "sql"


def test_the_stock_baseline_interleaves_every_message_and_ours_keeps_the_callers_slots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.benchmarks.chat import ChatBenchConfig, bench_env

    monkeypatch.setenv("CLEARLINE_RASA_MESSAGE_SLOTS", "3")
    assert bench_env(tmp_path, ChatBenchConfig(), patches=False)["CLEARLINE_RASA_MESSAGE_SLOTS"] == "0"
    assert bench_env(tmp_path, ChatBenchConfig(), patches=True)["CLEARLINE_RASA_MESSAGE_SLOTS"] == "3"


def test_the_bench_runs_as_many_processes_as_asked_over_the_callers_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.benchmarks.chat import ChatBenchConfig, bench_env

    monkeypatch.setenv("CLEARLINE_ACTIONS_WORKERS", "5")
    env = bench_env(tmp_path, ChatBenchConfig(actions_workers=2, rasa_workers=3), patches=True)
    assert env["CLEARLINE_ACTIONS_WORKERS"] == "2" and env["CLEARLINE_RASA_WORKERS"] == "3"


class _PausedForHumans(BaseHTTPRequestHandler):
    """Rasa's REST channel, as far as the bench sees it: nothing back once a customer asked for a person."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        replies = [] if body["message"] in HUMAN else [{"recipient_id": body["sender"], "text": "ok"}]
        data = json.dumps(replies).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


def test_replies_without_an_answer_are_counted_apart_from_the_answered_ones() -> None:
    from api.benchmarks.chat import ChatBenchConfig, drive

    server = ThreadingHTTPServer(("127.0.0.1", 0), _PausedForHumans)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = LoadResult()
        config = ChatBenchConfig(concurrency=2, duration=1.5, warmup=0.0, seed=7, human_share=0.5)
        asyncio.run(drive(f"http://127.0.0.1:{server.server_address[1]}", config, result))
    finally:
        server.shutdown()
    assert result.errors == 0 and result.empty_replies > 0
    assert len(result.by_step["empty"]) == result.empty_replies
    assert len(result.by_step["empty"]) + len(result.by_step["answered"]) == len(result.latencies_ms)
