"""The committed Rasa model (bot/prebuilt/) is the one for the bot's current inputs.

A fresh clone copies it instead of training for ~5 minutes, but only while its content hash matches; a
change to the config, domain, rules, components, MiniLM or the dataset makes it stale and this test says so.
"""

from __future__ import annotations

import pytest

from nlu.datasets import DATASETS, dataset_dir
from nlu.export_minilm import sha256_of
from nlu.train import PREBUILT_DIR, current_model_name

pytestmark = pytest.mark.rasa


def test_the_pinned_dataset_is_what_the_model_was_built_from() -> None:
    folder = dataset_dir("banking77")
    for remote in DATASETS["banking77"].files:
        assert sha256_of(folder / remote.name) == remote.sha256, (
            f"{folder / remote.name} is not the pinned file"
        )


def test_the_committed_model_is_the_one_for_the_current_inputs() -> None:
    committed = sorted(path.name for path in PREBUILT_DIR.glob("bot-*.tar.gz"))
    assert committed == [current_model_name()], (
        "bot/prebuilt/ is behind the bot's inputs: run `make prebuilt-model` and commit bot/prebuilt/"
    )
