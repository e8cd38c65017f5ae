"""A worker process with the fake scorer, for the exactly-once and benchmark tests (settings from env)."""

from tests.unit.triage.fakes import FakeScorer
from triage.worker.runner import main

if __name__ == "__main__":
    main(scorer=FakeScorer())
