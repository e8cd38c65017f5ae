from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.model import EmotionModel
from tests.unit.sentiment.tiny_model import write_clearline_json, write_tiny_model


@pytest.fixture(scope="session")
def plain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint without clearline.json (any HF sequence-classification directory)."""
    return write_tiny_model(tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="session")
def plain_model(plain_dir: Path) -> EmotionModel:
    return EmotionModel(plain_dir)


@pytest.fixture(scope="session")
def configured_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_tiny_model(tmp_path_factory.mktemp("configured"), seed=1)
    write_clearline_json(path)
    return path


@pytest.fixture(scope="session")
def configured_model(configured_dir: Path) -> EmotionModel:
    return EmotionModel(configured_dir)
