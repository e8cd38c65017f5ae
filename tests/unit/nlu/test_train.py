import os
from pathlib import Path

import pytest

import nlu.train as train_module


def fake_encoder(folder: Path, weights: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_bytes(name.encode())
    (folder / "model.safetensors").write_bytes(weights)
    return folder


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """nlu.train on a copy of nothing: a fake MiniLM export, no data build, models in tmp."""
    encoder = fake_encoder(tmp_path / "minilm")
    monkeypatch.setattr(train_module, "export_minilm", lambda: encoder)
    monkeypatch.setattr(train_module, "build", lambda *args, **kwargs: (0, 0))
    monkeypatch.setattr(train_module, "fetched_train_csv", lambda: tmp_path / "train.csv")
    monkeypatch.setattr(train_module, "installed_rasa_version", lambda: "rasa-3.6.21.dist-info")
    monkeypatch.setattr(train_module, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(train_module, "PREBUILT_DIR", tmp_path / "prebuilt")
    return tmp_path


def current_name(isolated: Path) -> str:
    config = train_module.BOT_DIR / "config.yml"
    digest = train_module.content_hash(config, "rasa-3.6.21.dist-info", isolated / "minilm")
    return f"bot-{digest}.tar.gz"


def no_rasa(*args: object, **kwargs: object) -> None:
    raise AssertionError("rasa train must not run when a model for the content exists")


def test_hash_follows_the_training_content(tmp_path: Path) -> None:
    config = train_module.BOT_DIR / "config.yml"
    encoder = fake_encoder(tmp_path / "a")
    first = train_module.content_hash(config, "rasa-3.6.21", encoder)
    assert first == train_module.content_hash(config, "rasa-3.6.21", encoder)
    assert first != train_module.content_hash(config, "rasa-3.6.22", encoder)
    other_weights = fake_encoder(tmp_path / "b", weights=b"other weights")
    assert first != train_module.content_hash(config, "rasa-3.6.21", other_weights)


def test_existing_model_for_the_content_is_reused_without_rasa(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = isolated / "models" / current_name(isolated)
    model.parent.mkdir()
    model.write_bytes(b"model")
    monkeypatch.setattr(train_module.subprocess, "run", no_rasa)
    assert train_module.train() == model


def test_the_committed_model_for_these_inputs_is_copied_not_trained(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prebuilt = isolated / "prebuilt" / current_name(isolated)
    prebuilt.parent.mkdir()
    prebuilt.write_bytes(b"committed model")
    (isolated / "prebuilt" / "bot-0000000000000000.tar.gz").write_bytes(b"for other inputs")
    monkeypatch.setattr(train_module.subprocess, "run", no_rasa)
    model = train_module.train()
    assert model == isolated / "models" / prebuilt.name
    assert model.read_bytes() == b"committed model"


def test_a_committed_model_for_other_inputs_is_not_used(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "prebuilt").mkdir()
    (isolated / "prebuilt" / "bot-0000000000000000.tar.gz").write_bytes(b"for other inputs")
    calls: list[list[str]] = []

    def fake_rasa_train(command: list[str], **kwargs: object) -> None:
        calls.append(command)
        name = command[command.index("--fixed-model-name") + 1]
        (isolated / "models" / f"{name}.tar.gz").write_bytes(b"trained")

    monkeypatch.setattr(train_module.subprocess, "run", fake_rasa_train)
    assert train_module.train().read_bytes() == b"trained"
    assert len(calls) == 1


def test_update_prebuilt_keeps_exactly_the_current_model(isolated: Path) -> None:
    (isolated / "prebuilt").mkdir()
    stale = isolated / "prebuilt" / "bot-0000000000000000.tar.gz"
    stale.write_bytes(b"old")
    model = isolated / "models" / current_name(isolated)
    model.parent.mkdir()
    model.write_bytes(b"new")
    committed = train_module.update_prebuilt(model)
    assert [path.name for path in (isolated / "prebuilt").iterdir()] == [model.name]
    assert committed.read_bytes() == b"new"


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


def test_layers_that_do_not_fit_are_a_clear_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse() -> Path:
        raise train_module.LayersMismatch("the tuned layers were trained on another base")

    monkeypatch.setattr(train_module, "export_minilm", refuse)
    monkeypatch.setattr(train_module.subprocess, "run", no_rasa)
    assert train_module.main([]) == 2
    assert "error: the tuned layers were trained on another base" in capsys.readouterr().err
