"""The MiniLM forward pass in NumPy: the float reference the ONNX graph is tested against, and the fallback.

BERT's embeddings, encoder layers (exact GELU, post-LayerNorm) and sentence-transformers' pooling (masked
mean, L2-normalised), written out with NumPy matrix products. tests/unit/nlu/test_minilm_encoder.py checks
it against the torch model; tests/bot/test_minilm_encoder.py checks the ONNX graph against it.
"""

from collections.abc import Mapping

import numpy as np
from scipy.special import erf


class NumpyForward:
    """Token ids and mask -> pooled unit vectors, with NumPy (BLAS threads are the caller's to limit)."""

    def __init__(self, weights: Mapping[str, np.ndarray], heads: int, layers: int, eps: float) -> None:
        self.weights = weights
        self.heads = heads
        self.layers = layers
        self.eps = eps

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

    def hidden_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last layer's (batch, tokens, hidden) states."""
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

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        mask = mask.astype(np.float32)
        hidden = self.hidden_states(ids, mask)
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
