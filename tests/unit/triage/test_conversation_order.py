"""A batch puts each conversation's events back in timestamp order, keeping the slots it was delivered in."""

from triage.worker.broker import BrokerEvent
from triage.worker.receipts import in_conversation_order


def event(number: int, sender: str, stamp: float | None) -> BrokerEvent:
    data = {"event": "user", "text": f"m{number}"} | ({} if stamp is None else {"timestamp": stamp})
    return BrokerEvent(number, sender, data, key=f"k{number}")


def test_each_conversation_is_sorted_by_time_in_the_places_its_events_were_delivered() -> None:
    delivered = [event(1, "a", 3.0), event(2, "b", 1.0), event(3, "a", 1.0), event(4, "a", 2.0)]
    assert [e.id for e in in_conversation_order(delivered)] == [3, 2, 4, 1]


def test_a_conversation_with_an_event_without_a_timestamp_keeps_its_delivered_order() -> None:
    delivered = [event(1, "a", 3.0), event(2, "a", None), event(3, "a", 1.0), event(4, "b", 2.0)]
    assert [e.id for e in in_conversation_order(delivered)] == [1, 2, 3, 4]


def test_equal_timestamps_keep_their_delivered_order() -> None:
    delivered = [event(1, "a", 5.0), event(2, "a", 5.0), event(3, "a", 4.0)]
    assert [e.id for e in in_conversation_order(delivered)] == [3, 1, 2]
