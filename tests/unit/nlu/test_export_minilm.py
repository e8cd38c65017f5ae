"""nlu/export_minilm.py: the featurizer's weights, with the tuned encoder layers merged over the package's."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from nlu import export_minilm
from nlu.export_minilm import FROZEN_WEIGHTS, LAYERS_FILE, RECORD_FILE, LayersMismatch, export, sha256_of

WORDS = FROZEN_WEIGHTS[0]
LAYER = "encoder.layer.0.attention.self.query.weight"
BIAS = "encoder.layer.0.attention.self.query.bias"


def fake_package(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_text(name)
    save_file(
        {
            WORDS: np.arange(12, dtype=np.float32).reshape(4, 3),
            LAYER: np.zeros((3, 3), dtype=np.float32),
            BIAS: np.zeros(3, dtype=np.float32),
        },
        str(folder / "model.safetensors"),
    )
    return folder


def fake_layers(folder: Path, package: Path, weights: dict[str, np.ndarray], base: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(folder / LAYERS_FILE))
    record = {"base_sha256": base or sha256_of(package / "model.safetensors")}
    (folder / RECORD_FILE).write_text(json.dumps(record))
    return folder


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return fake_package(tmp_path / "package")


def test_tuned_layers_replace_the_package_weights_as_float32(tmp_path: Path, package: Path) -> None:
    tuned = np.full((3, 3), 0.5, dtype=np.float16)
    layers = fake_layers(tmp_path / "layers", package, {LAYER: tuned})
    out = export(tmp_path / "out", layers, source=package)
    merged = load_file(str(out / "model.safetensors"))
    assert merged[LAYER].dtype == np.float32
    assert np.array_equal(merged[LAYER], tuned.astype(np.float32))
    # what the layers do not hold stays the package's: the frozen word embeddings, the bias
    assert np.array_equal(merged[WORDS], np.arange(12, dtype=np.float32).reshape(4, 3))
    assert np.array_equal(merged[BIAS], np.zeros(3, dtype=np.float32))
    assert (out / "tokenizer.json").read_text() == "tokenizer.json"


def test_without_layers_the_package_weights_are_copied_over_a_merged_export(
    tmp_path: Path, package: Path
) -> None:
    layers = fake_layers(tmp_path / "layers", package, {LAYER: np.ones((3, 3), dtype=np.float16)})
    out = export(tmp_path / "out", layers, source=package)
    # the merged file has the package file's size (same tensors), so only the content tells them apart
    assert (out / "model.safetensors").stat().st_size == (package / "model.safetensors").stat().st_size
    export(out, None, source=package)
    assert sha256_of(out / "model.safetensors") == sha256_of(package / "model.safetensors")
    export(out, tmp_path / "no-such-folder", source=package)
    assert sha256_of(out / "model.safetensors") == sha256_of(package / "model.safetensors")


def test_an_unchanged_export_leaves_the_file_alone(tmp_path: Path, package: Path) -> None:
    layers = fake_layers(tmp_path / "layers", package, {LAYER: np.ones((3, 3), dtype=np.float16)})
    out = export(tmp_path / "out", layers, source=package)
    weights = out / "model.safetensors"
    os.utime(weights, (1_000_000, 1_000_000))
    export(out, layers, source=package)
    assert weights.stat().st_mtime == 1_000_000
    assert weights.stat().st_mode & 0o777 == 0o644
    fake_layers(layers, package, {LAYER: np.full((3, 3), 2.0, dtype=np.float16)})
    export(out, layers, source=package)
    assert weights.stat().st_mtime != 1_000_000
    assert load_file(str(weights))[LAYER][0, 0] == 2.0


def test_layers_trained_on_another_base_are_refused(tmp_path: Path, package: Path) -> None:
    layers = fake_layers(
        tmp_path / "layers", package, {LAYER: np.ones((3, 3), dtype=np.float16)}, base="0" * 64
    )
    with pytest.raises(LayersMismatch, match="sha256 0000"):
        export(tmp_path / "out", layers, source=package)
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_refused_layers_leave_an_earlier_export_as_it_was(tmp_path: Path, package: Path) -> None:
    good = fake_layers(tmp_path / "good", package, {LAYER: np.ones((3, 3), dtype=np.float16)})
    out = export(tmp_path / "out", good, source=package)
    before = {
        name: (out / name).read_bytes() for name in ("config.json", "model.safetensors", "tokenizer.json")
    }
    (package / "config.json").write_text("a newer config")
    other_base = fake_layers(
        tmp_path / "bad", package, {LAYER: np.ones((3, 3), dtype=np.float16)}, base="1" * 64
    )
    with pytest.raises(LayersMismatch):
        export(out, other_base, source=package)
    assert {name: (out / name).read_bytes() for name in before} == before


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"encoder.layer.9.output.dense.weight": np.ones((3, 3), dtype=np.float16)}, "not a tunable weight"),
        ({WORDS: np.ones((4, 3), dtype=np.float16)}, "not a tunable weight"),
        ({LAYER: np.ones((2, 3), dtype=np.float16)}, "has shape"),
        ({LAYER: np.ones((3, 3), dtype=np.int64)}, "not a floating-point weight"),
    ],
)
def test_layers_that_do_not_fit_the_base_are_refused(
    tmp_path: Path, package: Path, weights: dict[str, np.ndarray], message: str
) -> None:
    layers = fake_layers(tmp_path / "layers", package, weights)
    with pytest.raises(LayersMismatch, match=message):
        export(tmp_path / "out", layers, source=package)


@pytest.mark.parametrize("record", ["", "not json", "[]", '{"other": 1}'])
def test_a_missing_or_broken_record_is_refused(tmp_path: Path, package: Path, record: str) -> None:
    layers = fake_layers(tmp_path / "layers", package, {LAYER: np.ones((3, 3), dtype=np.float16)})
    (layers / RECORD_FILE).write_text(record)
    with pytest.raises(LayersMismatch, match="base_sha256"):
        export(tmp_path / "out", layers, source=package)


def test_the_command_line_says_what_is_wrong(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(export_minilm, "package_dir", lambda: package)
    layers = fake_layers(
        tmp_path / "layers", package, {LAYER: np.ones((3, 3), dtype=np.float16)}, base="f" * 64
    )
    assert export_minilm.main(["--out", str(tmp_path / "out"), "--layers", str(layers)]) == 2
    assert "retrain them" in capsys.readouterr().err
    # layers named on purpose (bot/Dockerfile) but absent: an error, not a silent export of other weights
    assert export_minilm.main(["--out", str(tmp_path / "out"), "--layers", str(tmp_path / "none")]) == 2
    assert "no encoder.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert export_minilm.main(["--out", str(tmp_path / "out"), "--no-layers"]) == 0
    assert sha256_of(tmp_path / "out" / "model.safetensors") == sha256_of(package / "model.safetensors")
