"""Publish a file of events through Clearline's Rasa broker class, as Rasa's tracker store does.

Run with Rasa's environment (Python 3.10) and ``bot/`` on the path:
``.venv-rasa/bin/python tests/integration/publish_through_rasa_broker.py URL PARTITIONS EVENTS.jsonl``.
Each line of the file is one event dict (with its ``sender_id``), published in file order; a line that
repeats an earlier one is a duplicate publish. Exits once every publish is confirmed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from clearline_broker import ClearlineEventBroker
from rasa.utils.endpoints import EndpointConfig


async def publish(url: str, partitions: int, path: Path) -> int:
    config = EndpointConfig(url=url, type="clearline_broker.ClearlineEventBroker", partitions=partitions)
    broker = await ClearlineEventBroker.from_endpoint_config(config)
    if broker is None:
        raise SystemExit("the broker did not start")
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            broker.publish(json.loads(line))
            count += 1
            if count % 500 == 0:  # let the confirms catch up, as a live Rasa server would
                await _confirmed(broker)
    await _confirmed(broker)
    await broker.close()
    return count


async def _confirmed(broker: ClearlineEventBroker) -> None:
    while broker._background_tasks:  # the stock broker's pending publishes
        await asyncio.gather(*list(broker._background_tasks))
    if broker._unpublished_events:
        raise SystemExit(f"{len(broker._unpublished_events)} events were not published")


if __name__ == "__main__":
    url, partitions, events = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    print(asyncio.run(publish(url, partitions, events)))
