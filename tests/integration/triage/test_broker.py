"""Rasa's SQL broker table read in order, in batches, after an offset."""

from __future__ import annotations

from triage.benchmarks.rasa_events import bot_event, user_event, write_events
from triage.worker.broker import SqlEventSource, events_table


def test_reads_in_id_order_after_the_offset_in_batches(source):
    with source.engine.begin() as conn:
        ids = write_events(conn, [(f"c{i % 3}", user_event(f"message {i}")) for i in range(7)])
    first = source.read_after(0, 3)
    assert [e.id for e in first] == ids[:3] and first[0].sender_id == "c0" and first[0].type == "user"
    assert first[1].data["text"] == "message 1"
    assert [e.id for e in source.read_after(ids[2], 100)] == ids[3:]
    assert source.read_after(ids[-1], 100) == [] and source.last_id() == ids[-1]


def test_bad_rows_come_back_without_data(source):
    with source.engine.begin() as conn:
        conn.execute(events_table.insert().values(sender_id="c1", data="not json"))
        conn.execute(events_table.insert().values(sender_id="c1", data="[1, 2]"))
        write_events(conn, [("c1", bot_event("hi"))])
    events = source.read_after(0, 10)
    assert [(e.data is None, e.type) for e in events] == [(True, None), (True, None), (False, "bot")]


def test_before_rasa_creates_its_table_there_is_nothing_to_read(tmp_path):
    source = SqlEventSource(f"sqlite:///{tmp_path / 'not-yet.db'}")
    assert source.read_after(0, 10) == [] and source.last_id() == 0
    source.ensure_table()  # Rasa starts
    with source.engine.begin() as conn:
        write_events(conn, [("c1", user_event("hello"))])
    assert [e.data["text"] for e in source.read_after(0, 10)] == ["hello"]
    source.close()
