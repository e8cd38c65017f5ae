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

# Locked dependencies (see README, "Dependencies"): every package of both environments, direct and
# transitive, at an exact version with its hashes. `make lock` rewrites them from the ranges in
# pyproject.toml and bot/requirements.txt; `make test-latest` tries the newest versions those allow.
LOCK := requirements.lock
RASA_LOCK := bot/requirements.lock
BOOTSTRAP_LOCK := requirements-bootstrap.lock
# torch is the CPU build, which PyPI does not carry: this machine keeps it in /opt/wheels, elsewhere it
# comes from PyTorch's CPU index (same file, same hash). Override with TORCH_WHEELS=...
TORCH_WHEELS ?= $(if $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl),/opt/wheels,https://download.pytorch.org/whl/cpu/torch/)
TORCH_PIN := torch==2.13.0+cpu
UV := $(VENV)/bin/uv
UV_ENV := UV_NO_PROGRESS=1 UV_LINK_MODE=copy
# DEPS=locked installs the lock files (the default, what CI does); DEPS=latest the newest allowed versions.
DEPS ?= locked

.PHONY: run test test-fast test-latest setup venv rasa-venv system-packages lint lock check-python clean-runtime

run: setup
	$(VENV)/bin/clearline run

test: setup system-packages
	bash tests/run_all.sh

# The fast lane for development (CI runs `make test`): lint and the unit tests, no Rasa, no browser.
test-fast: venv
	$(MAKE) --no-print-directory lint
	CLEARLINE_DEMO=true $(VENV)/bin/pytest -q -p no:cacheprovider tests/unit

setup: venv rasa-venv

venv: $(STAMPS)/venv
rasa-venv: $(STAMPS)/rasa-venv

check-python:
	@[ -n "$(PYTHON311)" ] && $(PYTHON311) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
	  || { echo "Clearline needs Python 3.11 for its own processes (set PYTHON311=/path/to/python3.11)"; exit 1; }

# uv comes first, from its own one-line lock (pip checks its hash); uv then installs everything else.
$(STAMPS)/venv: pyproject.toml $(LOCK) $(BOOTSTRAP_LOCK) | check-python
	[ -x $(VENV)/bin/python ] || $(PYTHON311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(BOOTSTRAP_LOCK)
ifeq ($(DEPS),latest)
	echo "$(TORCH_PIN)" > $(VENV)/torch-constraint.txt
	$(UV_ENV) $(UV) pip install -q --python $(VENV)/bin/python --upgrade --find-links $(TORCH_WHEELS) \
	  --constraint $(VENV)/torch-constraint.txt -e ".[dev]"
else
	$(UV_ENV) $(UV) pip sync -q --python $(VENV)/bin/python --require-hashes --find-links $(TORCH_WHEELS) $(LOCK)
	$(UV_ENV) $(UV) pip install -q --python $(VENV)/bin/python --no-deps -e .
endif
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/rasa-venv: bot/requirements.txt $(RASA_LOCK) $(STAMPS)/venv
	@[ -n "$(PYTHON310)" ] && "$(PYTHON310)" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
	  || { echo "Rasa 3.6 needs Python 3.10 and none was found (tried python3.10 and pyenv's). Install it (e.g. 'pyenv install 3.10.13')"; \
	       echo "or point to it: make PYTHON310=/path/to/python3.10 ..."; exit 1; }
	[ -x $(RASA_VENV)/bin/python ] || "$(PYTHON310)" -m venv $(RASA_VENV)
ifeq ($(DEPS),latest)
	$(UV_ENV) $(UV) pip install -q --python $(RASA_VENV)/bin/python --upgrade -r bot/requirements.txt
else
	$(UV_ENV) $(UV) pip sync -q --python $(RASA_VENV)/bin/python --require-hashes $(RASA_LOCK)
endif
	mkdir -p $(STAMPS) && touch $@

# Rewrite the three lock files from the ranges (newest versions they allow, hashes of every file).
lock: $(STAMPS)/venv
	echo "$(TORCH_PIN)" > $(VENV)/torch-constraint.txt
	$(UV_ENV) $(UV) pip compile -q --upgrade --generate-hashes --python $(PYTHON311) --extra dev \
	  --find-links $(TORCH_WHEELS) --constraint $(VENV)/torch-constraint.txt \
	  --custom-compile-command "make lock" -o $(LOCK) pyproject.toml
	$(UV_ENV) $(UV) pip compile -q --upgrade --generate-hashes --python "$(PYTHON310)" \
	  --custom-compile-command "make lock" -o $(RASA_LOCK) bot/requirements.txt
	grep -E '^uv==' $(LOCK) | sed 's/ .*//' | $(UV_ENV) $(UV) pip compile -q --generate-hashes --python $(PYTHON311) \
	  --custom-compile-command "make lock" -o $(BOOTSTRAP_LOCK) -
	@echo "Locks rewritten; review 'git diff --stat', run 'make test', then commit them."

# Non-blocking: the whole suite on the newest versions the ranges allow, in a copy of this tree with its
# own virtual environments, so an upstream release that breaks us is seen before `make lock` takes it.
LATEST_DIR ?= data/runtime/test-latest
test-latest:
	rm -rf $(LATEST_DIR) && mkdir -p $(LATEST_DIR)
	git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ ! -e "{}" ] || cp -a --parents "{}" $(LATEST_DIR)/'
	# The trained Rasa model is cached by the hash of its inputs, so the copy reuses it when they match.
	[ ! -d bot/models ] || cp -a bot/models $(LATEST_DIR)/bot/
	datasets="$${CLEARLINE_DATASETS_DIR:-$$(realpath -m ../shared/datasets)}"
	(cd $(LATEST_DIR) && CLEARLINE_DATASETS_DIR="$$datasets" $(MAKE) --no-print-directory test DEPS=latest)
	echo "test-latest passed with these versions:"
	$(UV_ENV) $(CURDIR)/$(UV) pip freeze --python $(CURDIR)/$(LATEST_DIR)/$(VENV)/bin/python

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
