#!/usr/bin/env bash
# The bot's checks, the way CI runs them (from the repository root):
#   bash bot/check.sh
# 1. export MiniLM, build the NLU data, train the model (skipped when a model for this content exists)
# 2. rasa data validate
# 3. conversation tests, NLU included (--e2e): rasa test core --fail-on-prediction-errors (bot/tests/*.yml)
# 4. action server tests + a real `rasa run` with the SQL event broker (tests/bot, .venv-rasa's pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
RASA_BIN="${CLEARLINE_RASA_VENV:-$ROOT/.venv-rasa}/bin"
RESULTS="$ROOT/data/runtime/rasa_test_results"
export SQLALCHEMY_SILENCE_UBER_WARNING=1

step() { echo; echo "== $1 ($(date -u +%T))"; }

step "train the model"
.venv/bin/python -m nlu.train
MODEL="$(ls -t bot/models/bot-*.tar.gz | head -n 1)"
echo "model: $MODEL"

step "rasa data validate"
(cd bot && "$RASA_BIN/rasa" data validate --domain domain --data data --config config.yml)

step "conversation tests"
(cd bot && "$RASA_BIN/rasa" test core --e2e --stories tests --model "$ROOT/$MODEL" \
    --fail-on-prediction-errors --out "$RESULTS")

step "action server and Rasa server tests"
CLEARLINE_BOT_MODEL="$ROOT/$MODEL" "$RASA_BIN/pytest" tests/bot --confcutdir tests/bot -p no:cacheprovider -q
