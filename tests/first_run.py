"""`make run` on this clone, timed: start the whole stack, stop once it is ready, print how long it took.

tests/run_all.sh runs this first, so on a fresh clone CI's log says how long a first `make run` takes
(virtual environments, datasets, NLU data, the Rasa model, migrations, start-up). Free ports and a
temporary runtime folder keep a developer's running stack and demo data out of it. Exit status: that of
`clearline run --exit-when-ready`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from triage.benchmarks.processes import free_port

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="clearline-first-run-") as folder:
        return first_run(Path(folder))


def first_run(runtime: Path) -> int:
    env = {
        **os.environ,
        **{f"CLEARLINE_{name}_PORT": str(free_port()) for name in ("API", "WORKER", "RASA", "ACTIONS")},
        "CLEARLINE_DATABASE_URL": f"sqlite:///{runtime / 'clearline.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{runtime / 'rasa_events.db'}",
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{runtime / 'rasa_tracker.db'}",
        "CLEARLINE_PROVIDER_DB_URL": f"sqlite:///{runtime / 'provider.db'}",
    }
    started = time.monotonic()
    clearline = Path(sys.executable).parent / "clearline"
    code = subprocess.call([str(clearline), "run", "--exit-when-ready", "--health-timeout", "420"], env=env)
    print(f"first run: `clearline run` took {time.monotonic() - started:.0f} s (exit {code})", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
