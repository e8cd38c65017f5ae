"""The MiniLM featurizer's ONNX Runtime forward pass against the NumPy float reference (.venv-rasa).

The NumPy pass is itself checked against the torch model in tests/unit/nlu/test_minilm_encoder.py. The
weights are the exported ones (data/models/minilm, written by `python -m nlu.train` before these tests).
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from components.minilm_encoder import MiniLMEncoder
from components.minilm_featurizer import MiniLMFeaturizer, model_dir_from, runtime_from
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

# ONNX Runtime and NumPy sum in different orders; measured max difference ~3e-7 on unit vectors.
TOLERANCE = 1e-5

LONG = " ".join(f"word{index} transfer" for index in range(400))  # far past the 128-token limit
TEXTS = [
    "I am still waiting on my card?",
    "hi",
    "My transfer to my landlord failed twice; what is going on?",
    "",
    "   ",
    LONG,
    "我的卡还没有到，怎么办？",
    "Где моя карта? Я жду уже две недели.",
    "لماذا تم رفض الدفع الخاص بي",
    "🙂🙂 card declined again!!! 💳",
    "x" * 5000,
]


@pytest.fixture(scope="module")
def numpy_encoder() -> MiniLMEncoder:
    return MiniLMEncoder(model_dir_from({}), runtime="numpy")


@pytest.fixture(scope="module")
def onnx_encoder() -> MiniLMEncoder:
    return MiniLMEncoder(model_dir_from({}), runtime="onnx")


def test_onnx_matches_the_numpy_reference(numpy_encoder: MiniLMEncoder, onnx_encoder: MiniLMEncoder) -> None:
    reference = numpy_encoder.encode(TEXTS)
    ours = onnx_encoder.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    assert np.isfinite(ours).all()
    assert np.abs(ours - reference).max() < TOLERANCE
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batches_give_what_single_messages_give(onnx_encoder: MiniLMEncoder) -> None:
    # Padding inside a batch must not leak into a shorter message's vector, and the order is kept.
    batched = onnx_encoder.encode(TEXTS, batch_size=64)
    single = np.stack([onnx_encoder.encode([text], batch_size=1)[0] for text in TEXTS])
    assert np.abs(batched - single).max() < TOLERANCE
    different = (batched[:3] @ batched[:3].T)[np.triu_indices(3, k=1)]
    assert (different < 0.99).all()  # distinct messages are not mapped to one vector


def test_long_text_is_truncated_to_the_token_limit(onnx_encoder: MiniLMEncoder) -> None:
    head, other_tail = onnx_encoder.encode([LONG, LONG + " completely different ending about loans"])
    assert np.abs(head - other_tail).max() < TOLERANCE
    assert len(onnx_encoder.tokenizer.encode(LONG).ids) == 128


def test_empty_text_is_embedded_as_a_blank(onnx_encoder: MiniLMEncoder) -> None:
    empty, blank = onnx_encoder.encode(["", " "])
    assert np.abs(empty - blank).max() < TOLERANCE
    assert abs(float(np.linalg.norm(empty)) - 1.0) < 1e-5


def test_no_texts_gives_an_empty_matrix(onnx_encoder: MiniLMEncoder) -> None:
    assert onnx_encoder.encode([]).shape == (0, 384)


def test_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="onnx, numpy"):
        MiniLMEncoder(model_dir_from({}), runtime="tensorrt")


def test_missing_onnxruntime_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    monkeypatch.delitem(sys.modules, "components.minilm_onnx", raising=False)
    with pytest.raises(ImportError, match="make rasa-venv"):
        MiniLMEncoder(model_dir_from({}), runtime="onnx")


def test_runtime_comes_from_config_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEARLINE_MINILM_RUNTIME", raising=False)
    assert runtime_from({"runtime": None}) == "onnx"
    monkeypatch.setenv("CLEARLINE_MINILM_RUNTIME", "numpy")
    assert runtime_from({"runtime": None}) == "numpy"
    assert runtime_from({"runtime": "onnx"}) == "onnx"
    with pytest.raises(ValueError, match="runtime"):
        MiniLMFeaturizer.validate_config({"runtime": "gpu"})


@pytest.mark.parametrize("runtime", ["onnx", "numpy"])
def test_featurizer_gives_scaled_sentence_features(runtime: str, numpy_encoder: MiniLMEncoder) -> None:
    config = {**MiniLMFeaturizer.get_default_config(), "scale": 3.16, "runtime": runtime}
    featurizer = MiniLMFeaturizer(config, "minilm")
    messages = [Message(data={TEXT: text}) for text in ["where is my card", "Где моя карта?"]]
    no_text = Message(data={TEXT: ""})
    featurizer.process([*messages, no_text])
    assert no_text.features == []
    expected = numpy_encoder.encode(["where is my card", "Где моя карта?"]) * 3.16
    for message, vector in zip(messages, expected, strict=True):
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None
        assert sentence is not None
        assert sentence.features.shape == (1, 384)
        assert np.abs(sentence.features[0] - vector).max() < TOLERANCE * 3.16


def write_weights(folder: Path, weights: bytes) -> Path:
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_text(name)
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_the_cache_fingerprint_follows_the_weights_not_only_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rasa reuses a featurizer's cached output when the fingerprint is equal: other weights under the same
    # folder name (tuned layers, a hold-out experiment) must not train on the previous weights' features.
    first = write_weights(tmp_path / "a", b"first weights")
    same = write_weights(tmp_path / "b", b"first weights")
    other = write_weights(tmp_path / "c", b"other weights")
    fingerprint = MiniLMFeaturizer.fingerprint_addon
    assert fingerprint({"model_dir": str(first)}) == fingerprint({"model_dir": str(same)})
    assert fingerprint({"model_dir": str(first)}) != fingerprint({"model_dir": str(other)})
    monkeypatch.setenv("CLEARLINE_MINILM_DIR", str(other))
    assert fingerprint({}) == fingerprint({"model_dir": str(other)})
    (other / "model.safetensors").write_bytes(b"first weights")
    assert fingerprint({}) == fingerprint({"model_dir": str(first)})


def test_the_fingerprint_reaches_rasas_graph_fingerprint(tmp_path: Path) -> None:
    from rasa.engine.training.fingerprinting import calculate_fingerprint_key

    config = {**MiniLMFeaturizer.get_default_config(), "model_dir": str(tmp_path / "weights")}
    write_weights(tmp_path / "weights", b"first weights")
    first = calculate_fingerprint_key(MiniLMFeaturizer, config, {})
    assert calculate_fingerprint_key(MiniLMFeaturizer, config, {}) == first
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"other weights")
    assert calculate_fingerprint_key(MiniLMFeaturizer, config, {}) != first
