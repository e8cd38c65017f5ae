#!/usr/bin/env bash
# The whole test suite, in the order that fails fastest. `make test` (and so .ci/run) runs this after
# installing both virtual environments and Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLEARLINE_DEMO=true
step() { printf '\n=== %s ===\n' "$*"; }

step "datasets: the configured folder, else downloaded into data/cache/datasets (sha256 checked)"
.venv/bin/python -m nlu.datasets fetch

step "first run: what \`make run\` does on this clone, stopped once ready (timed)"
.venv/bin/python tests/first_run.py

step "lint: ruff (rules and formatting) and mypy"
make --no-print-directory lint

step "bot: NLU data from BANKING77, Rasa model (by content hash: existing, committed, or trained)"
.venv/bin/python -m nlu.train  # builds the NLU data first

step "bot: data validation, conversation tests, action server tests (Python 3.10)"
bash bot/check.sh

step "Clearline: unit, integration, browser and end-to-end tests (Python 3.11)"
.venv/bin/pytest -q -p no:cacheprovider tests --ignore=tests/bot
