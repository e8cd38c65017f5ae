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
# When this `make` began: `clearline run` reports how long a start took from here, installation included.
# (Simply expanded, once: a recursive variable would run `date` again when the recipe starts.)
ifndef CLEARLINE_MAKE_STARTED
export CLEARLINE_MAKE_STARTED := $(shell date +%s)
endif

.PHONY: run test test-fast test-latest setup venv rasa-venv system-packages lint lock check-python check-python310 clean-runtime \
	prebuilt-model

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

# How to get a missing Python, on the systems people usually have (printed by the checks below).
define HOW_TO_GET_PYTHON
  Debian/Ubuntu: sudo add-apt-repository ppa:deadsnakes/ppa && sudo apt install python$(1) python$(1)-venv
  macOS:         brew install python@$(1)
  pyenv:         pyenv install $(1)   (any system; then make finds ~/.pyenv/versions/$(1).*)
  uv:            uv python install $(1), then make PYTHON$(subst .,,$(1))=$$(uv python find $(1)) ...
endef
export HOW_TO_GET_PYTHON_311 := $(call HOW_TO_GET_PYTHON,3.11)
export HOW_TO_GET_PYTHON_310 := $(call HOW_TO_GET_PYTHON,3.10)

check-python:
	@[ -n "$(PYTHON311)" ] && $(PYTHON311) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null \
	  || { echo "Clearline needs Python 3.11 for its own processes and none was found (tried python3.11 and pyenv's)."; \
	       echo "Install it, or point to it with make PYTHON311=/path/to/python3.11 ..."; \
	       echo "$$HOW_TO_GET_PYTHON_311"; exit 1; }

# uv comes first, from its own one-line lock (pip checks its hash); uv then installs everything else.
$(STAMPS)/venv: pyproject.toml $(LOCK) $(BOOTSTRAP_LOCK) | check-python
	@echo "-> Python 3.11 environment ($(VENV), $(DEPS) dependencies)"
	started=$$SECONDS
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
	echo "   done in $$((SECONDS - started)) s"

check-python310:
	@[ -n "$(PYTHON310)" ] && "$(PYTHON310)" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
	  || { echo "Rasa 3.6 needs Python 3.10 and none was found (tried python3.10 and pyenv's)."; \
	       echo "Install it, or point to it with make PYTHON310=/path/to/python3.10 ..."; \
	       echo "$$HOW_TO_GET_PYTHON_310"; exit 1; }

$(STAMPS)/rasa-venv: bot/requirements.txt $(RASA_LOCK) $(STAMPS)/venv | check-python310
	@echo "-> Python 3.10 environment for Rasa ($(RASA_VENV), $(DEPS) dependencies)"
	started=$$SECONDS
	[ -x $(RASA_VENV)/bin/python ] || "$(PYTHON310)" -m venv $(RASA_VENV)
ifeq ($(DEPS),latest)
	$(UV_ENV) $(UV) pip install -q --python $(RASA_VENV)/bin/python --upgrade -r bot/requirements.txt
else
	$(UV_ENV) $(UV) pip sync -q --python $(RASA_VENV)/bin/python --require-hashes $(RASA_LOCK)
endif
	mkdir -p $(STAMPS) && touch $@
	echo "   done in $$((SECONDS - started)) s"

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

# After a change to the bot's config, domain, rules, components or the dataset: train (if needed) and make
# the result the committed model in bot/prebuilt/, which a fresh clone uses instead of training (~5 min).
prebuilt-model: setup
	$(VENV)/bin/python -m nlu.train --update-prebuilt

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
	  echo "-> Debian packages for the tests: chromium, docker-compose (apt-get)"; started=$$SECONDS; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null; \
	  echo "   done in $$((SECONDS - started)) s"; }

lint: venv
	$(VENV)/bin/ruff check sentiment triage api nlu bot tests
	$(VENV)/bin/ruff format --check sentiment triage api nlu bot tests
	$(VENV)/bin/mypy

clean-runtime:
	rm -rf data/runtime
