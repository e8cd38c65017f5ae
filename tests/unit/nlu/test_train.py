import os
from pathlib import Path

import pytest

import nlu.train as train_module


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """nlu.train on a copy of nothing: no MiniLM export, no data build, models in tmp."""
    monkeypatch.setattr(train_module, "export_minilm", lambda: tmp_path)
    monkeypatch.setattr(train_module, "build", lambda *args, **kwargs: (0, 0))
    monkeypatch.setattr(train_module, "installed_rasa_version", lambda: "rasa-3.6.21.dist-info")
    monkeypatch.setattr(train_module, "MODELS_DIR", tmp_path / "models")
    return tmp_path


def test_hash_follows_the_training_content(tmp_path: Path) -> None:
    config = train_module.BOT_DIR / "config.yml"
    first = train_module.content_hash(config, "rasa-3.6.21")
    assert first == train_module.content_hash(config, "rasa-3.6.21")
    assert first != train_module.content_hash(config, "rasa-3.6.22")


def test_existing_model_for_the_content_is_reused_without_rasa(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = train_module.content_hash(train_module.BOT_DIR / "config.yml", "rasa-3.6.21.dist-info")
    model = isolated / "models" / f"bot-{digest}.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"model")

    def no_rasa(*args: object, **kwargs: object) -> None:
        raise AssertionError("rasa train must not run when the model exists")

    monkeypatch.setattr(train_module.subprocess, "run", no_rasa)
    assert train_module.train() == model


def test_training_that_leaves_no_model_is_an_error(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(train_module.subprocess, "run", lambda command, **kwargs: calls.append(command))
    with pytest.raises(RuntimeError, match="is missing"):
        train_module.train()
    command = calls[0]
    assert command[1:3] == ["train", "--domain"]
    assert command[command.index("--fixed-model-name") + 1].startswith("bot-")


def test_old_models_are_pruned(tmp_path: Path) -> None:
    models = [tmp_path / f"bot-{index}.tar.gz" for index in range(5)]
    for index, path in enumerate(models):
        path.write_bytes(b"x")
        os.utime(path, (index, index))
    train_module.prune(tmp_path, "bot", keep=models[0])
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "bot-0.tar.gz",
        "bot-3.tar.gz",
        "bot-4.tar.gz",
    ]


def test_yaml_is_hashed_by_meaning(tmp_path: Path) -> None:
    first, second, third = tmp_path / "a.yml", tmp_path / "b.yml", tmp_path / "c.yml"
    first.write_text("pipeline:\n- name: X\n  scale: 3\n")
    second.write_text("# a comment\npipeline:\n  - name: X   # why\n    scale: 3\n")
    third.write_text("pipeline:\n- name: X\n  scale: 4\n")
    assert train_module._canonical(first) == train_module._canonical(second)
    assert train_module._canonical(first) != train_module._canonical(third)
