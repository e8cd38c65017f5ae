"""Replay of 10,000 stored customer messages through the shipped model: it works, and prints how long it
took (the issue's 60 s target is a figure for the README, not a timed assertion that flakes on a busy
machine).

The history is stored by the real worker (in-process, fake scorer, the pipeline benchmark's texts), so the
texts are redacted and decided as in production; the replay re-scores every one with the real model.
"""

from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import func, select

from sentiment.settings import SentimentSettings
from triage.benchmarks.pipeline import CALM, STRESSED
from triage.benchmarks.rasa_events import user_event, write_events
from triage.replay_cli import run
from triage.storage.db import Message, Sender

from .test_worker import make_worker

MESSAGES = 10_000
TURNS = 8


@pytest.mark.slow
def test_replay_of_10000_stored_messages_through_the_shipped_model(
    session_factory, source, policy, clearline_url
):
    rng = random.Random(7)
    rows = []
    for turn in range(TURNS):
        for c in range(MESSAGES // TURNS):
            pool = STRESSED if c % 10 == 0 and turn >= 3 else CALM  # a tenth turn angry midway
            text, intent = rng.choice(pool)
            rows.append((f"replay-{c:05d}", user_event(text, intent)))
    with source.engine.begin() as conn:
        write_events(conn, rows)
    worker = make_worker(session_factory, source, policy, batch_size=2000)
    while worker.process_next_batch() is not None:
        pass
    with session_factory() as s:
        stored = s.scalar(select(func.count()).select_from(Message).where(Message.sender == Sender.CUSTOMER))
    assert stored == MESSAGES
    started = time.perf_counter()
    report = run(str(SentimentSettings().model_dir), None, None, None, clearline_url)
    elapsed = time.perf_counter() - started
    print(
        f"\nreplay of {report['messages']} stored messages through the shipped model: {elapsed:.1f} s "
        f"(loading the model {report['load_seconds']} s, reading {report['read_seconds']} s); "
        f"escalations {report['escalations_current']} stored, "
        f"{report['escalations_candidate']} re-scored"
    )
    assert report["messages"] == MESSAGES and report["model"]["rescored"] is True
    assert report["escalations_candidate"] > 0  # the angry turns still escalate under the real model
