# Clearline: two commands on a fresh machine.
#   make run    install everything (once), build NLU data, train the bot if needed, migrate, seed, start
#   make test   install everything (once) and run the whole test suite (what .ci/run calls)
# Every step is idempotent; stamps make a second start fast.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON311 ?= $(shell for c in python3.11 $(HOME)/.pyenv/versions/3.11*/bin/python; do "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null && { command -v "$$c"; break; }; done)
# Rasa 3.6 needs Python 3.10: the first candidate that really runs 3.10 (a pyenv shim on PATH may not),
# python3.10 on PATH or pyenv's; override with PYTHON310=...
PYTHON310 ?= $(shell for c in python3.10 $(HOME)/.pyenv/versions/3.10*/bin/python; do "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { command -v "$$c"; break; }; done)
VENV := .venv
RASA_VENV := .venv-rasa
STAMPS := data/runtime/.stamps

.PHONY: run test setup venv rasa-venv system-packages lint clean-runtime

run: setup
	$(VENV)/bin/clearline run

test: setup system-packages
	bash tests/run_all.sh

setup: venv rasa-venv

venv: $(STAMPS)/venv
rasa-venv: $(STAMPS)/rasa-venv

$(STAMPS)/venv: pyproject.toml
	@[ -n "$(PYTHON311)" ] && $(PYTHON311) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
	  || { echo "Clearline needs Python 3.11 for its own processes (set PYTHON311=/path/to/python3.11)"; exit 1; }
	[ -x $(VENV)/bin/python ] || $(PYTHON311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# The CPU build of torch first: a bare "torch" would pull a multi-GB CUDA build.
	$(VENV)/bin/pip install -q "torch==2.13.0"
	$(VENV)/bin/pip install -q -e ".[dev]"
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/rasa-venv: bot/requirements.txt
	@[ -n "$(PYTHON310)" ] && "$(PYTHON310)" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
	  || { echo "Rasa 3.6 needs Python 3.10 and none was found (tried python3.10 and pyenv's). Install it (e.g. 'pyenv install 3.10.13')"; \
	       echo "or point to it: make PYTHON310=/path/to/python3.10 ..."; exit 1; }
	[ -x $(RASA_VENV)/bin/python ] || "$(PYTHON310)" -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip
	$(RASA_VENV)/bin/pip install -q -r bot/requirements.txt
	mkdir -p $(STAMPS) && touch $@

# Debian packages the tests use: chromium for Playwright (its own browser download is not used) and
# docker-compose to validate docker-compose.yml (no Docker engine is needed for that).
system-packages:
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null; }

lint: venv
	$(VENV)/bin/ruff check sentiment triage api nlu bot tests
	$(VENV)/bin/ruff format --check sentiment triage api nlu bot tests
	$(VENV)/bin/mypy

clean-runtime:
	rm -rf data/runtime
