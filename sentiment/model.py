"""Loading an emotion model and scoring texts, split like a transformers pipeline.

``preprocess`` (validate + tokenize) -> ``_score_forward`` (the model only: ONNX Runtime, else torch's
``_forward``) -> ``postprocess`` (sigmoid, labels, stress). Nothing about a call is kept on the instance
(but for dropping a failed ONNX session) and no hooks are attached to the model, so one loaded model serves
concurrent callers without a lock.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase

from sentiment.calibration import StressDefinition, stress_from_logits
from sentiment.checkpoint import checkpoint_version, read_clearline_json, weights_digest
from sentiment.errors import InvalidText, ModelNotLoaded
from sentiment.first_token import first_token_classifier
from sentiment.goemotions import STRESS_LABELS
from sentiment.noise import for_model
from sentiment.onnx_scoring import OnnxLogits, onnx_logits
from sentiment.settings import SentimentSettings
from sentiment.types import Explanation, UtteranceScore

CONFIG_NAME = "clearline.json"
SCORING_RUNTIMES = ("onnx", "torch")
log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5  # label threshold for checkpoints without clearline.json
MAX_TOKENS_LIMIT = 512


# the environment variable that overrides the stress flag's threshold (SentimentSettings.stress_threshold)
THRESHOLD_VARIABLE = "CLEARLINE_STRESS_THRESHOLD"


@functools.lru_cache(maxsize=8)
def _threshold_override(raw: str | None) -> float | None:
    """The override as the settings read it, once per value of the variable: building the settings reads
    the environment and the .env file, which cost more than the rest of a batch's post-processing."""
    return SentimentSettings().stress_threshold


def kept_positions(n_tokens: int, max_length: int) -> list[int]:
    """Token positions kept of a text ``n_tokens`` long: all, or the first ``max_length - 1`` and the final
    [SEP] (the model's limit). Scoring and explanations cut texts the same way."""
    if n_tokens <= max_length:
        return list(range(n_tokens))
    return [*range(max_length - 1), n_tokens - 1]


def validate_text(text: object, position: int | None = None) -> str:
    """Return ``text`` as a str fit for the model, or raise :class:`InvalidText` saying why.

    UTF-8 bytes are decoded; other bytes, non-strings, empty or whitespace-only text, and strings with
    unpaired surrogates (undecodable input smuggled through ``surrogateescape``) are refused.
    """
    where = "" if position is None else f" (item {position})"
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidText(f"text is not valid UTF-8{where}: {exc.reason} at byte {exc.start}") from exc
    if not isinstance(text, str):
        raise InvalidText(f"text must be a string, got {type(text).__name__}{where}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidText(f"text contains invalid Unicode (unpaired surrogate){where}") from exc
    if not text.strip():
        raise InvalidText(f"text is empty or whitespace only{where}")
    return text


@dataclass(frozen=True)
class Encoded:
    """Token ids of validated texts (no padding yet) and whether each was cut to the model's limit."""

    texts: list[str]
    input_ids: list[list[int]]
    truncated: list[bool]


class EmotionModel:
    """A multi-label emotion classifier with a calibrated stress score. Build with :func:`load_model`."""

    def __init__(self, path: Path, runtime: str | None = None) -> None:
        """``runtime``: "onnx" or "torch" for scoring; default ``CLEARLINE_SCORING_RUNTIME`` (onnx)."""
        path = Path(path)
        runtime = (runtime or SentimentSettings().scoring_runtime).strip().lower()
        if runtime not in SCORING_RUNTIMES:
            raise ModelNotLoaded(
                f"scoring runtime must be one of {', '.join(SCORING_RUNTIMES)} "
                f"(CLEARLINE_SCORING_RUNTIME), not {runtime!r}"
            )
        if not (path / "config.json").is_file():
            raise ModelNotLoaded(f"{path} is not a model directory (no config.json)")
        try:
            self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(path))
            self.model = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=torch.float32)
        except (OSError, ValueError) as exc:
            raise ModelNotLoaded(f"cannot load a sequence-classification model from {path}: {exc}") from exc
        self.model.eval()
        self.model.requires_grad_(False)
        # What scores and explanations run on: the same parameters, the last layer for [CLS] only.
        self.classifier = first_token_classifier(self.model)
        # Scores on ONNX Runtime when it runs this model exactly (sentiment/onnx_scoring.py); else torch.
        self.onnx: OnnxLogits | None = None
        if runtime == "onnx":
            self.onnx = onnx_logits(self.classifier, self.tokenizer)
        self.runtime = "torch" if self.onnx is None else "onnx"
        # f(all-[PAD] baseline) per (target, token ids): see sentiment.explain._baseline_score
        self.baseline_scores: dict[tuple[str, tuple[int, ...]], float] = {}
        self.path = path
        config = self.model.config
        self.labels: list[str] = [str(config.id2label[i]) for i in range(config.num_labels)]
        extra = read_clearline_json(path)
        thresholds: dict[str, float] = extra.get("thresholds", {})
        self.threshold_vector = np.array([float(thresholds.get(n, DEFAULT_THRESHOLD)) for n in self.labels])
        self.stress = _stress_definition(extra, self.labels)
        self.stress_index = [self.labels.index(n) for n in self.stress.labels]
        positions = getattr(config, "max_position_embeddings", MAX_TOKENS_LIMIT)
        default_length = min(self.tokenizer.model_max_length, positions, MAX_TOKENS_LIMIT)
        self.max_length = int(extra.get("max_length", default_length))
        # the weights are hashed only for a checkpoint whose clearline.json names no version
        self.version = str(extra.get("version") or checkpoint_version(path, extra, weights_digest(path)))

    # -- pipeline steps -------------------------------------------------------------------------------
    def preprocess(self, texts: Sequence[object]) -> Encoded:
        """Validate every text first (nothing is scored if one is bad), then tokenize with truncation."""
        if isinstance(texts, str | bytes):
            raise InvalidText("texts must be a sequence of strings, not a single string")
        valid = [validate_text(text, i) for i, text in enumerate(texts)]
        if not valid:
            return Encoded([], [], [])
        # markup, URLs and long repeats neutralised (sentiment.noise); the score keeps the text as given
        read = [for_model(text).text for text in valid]
        full = self.tokenizer(read, add_special_tokens=True, truncation=False)["input_ids"]
        truncated = [len(ids) > self.max_length for ids in full]
        ids = [
            row if not cut else [row[i] for i in kept_positions(len(row), self.max_length)]
            for row, cut in zip(full, truncated, strict=True)
        ]
        return Encoded(valid, ids, truncated)

    def _forward(self, input_ids: list[list[int]]) -> torch.Tensor:
        """Logits (batch, n_labels) of one batch on torch, padded to its longest row (explanations use this:
        every number of an explanation comes from the same runtime as its gradients)."""
        batch = self.tokenizer.pad({"input_ids": input_ids}, return_tensors="pt")
        with torch.inference_mode():
            logits: torch.Tensor = self.classifier(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
        return logits

    def _score_forward(self, input_ids: list[list[int]]) -> torch.Tensor:
        """Logits of one batch for scores: on ONNX Runtime when this model has a session, else torch. A
        session that fails on some batch is dropped (logged once) and torch scores from then on."""
        if self.onnx is not None:
            batch = self.tokenizer.pad({"input_ids": input_ids}, return_tensors="pt")
            try:
                return self.onnx(batch["input_ids"], batch["attention_mask"])
            except Exception as exc:  # noqa: BLE001 - an optional speed-up must not stop scoring
                log.warning("scoring with torch from now on: ONNX Runtime failed on a batch (%s)", exc)
                self.onnx, self.runtime = None, "torch"
        return self._forward(input_ids)

    def postprocess(
        self, logits: torch.Tensor, texts: list[str], truncated: list[bool]
    ) -> list[UtteranceScore]:
        probs = torch.sigmoid(logits).numpy()
        stress = stress_from_logits(logits, self.stress_index, self.stress).numpy()
        flag_at = self.flag_threshold
        results = []
        for row, text, cut, s in zip(probs, texts, truncated, stress, strict=True):
            results.append(
                UtteranceScore(
                    text=text,
                    emotions={name: round(float(p), 6) for name, p in zip(self.labels, row, strict=True)},
                    labels=[
                        n for n, p, t in zip(self.labels, row, self.threshold_vector, strict=True) if p >= t
                    ],
                    stress=round(float(s), 6),
                    flag=bool(s >= flag_at),
                    model=self.version,
                    truncated=cut,
                )
            )
        return results

    # -- public API -----------------------------------------------------------------------------------
    @property
    def flag_threshold(self) -> float:
        override = _threshold_override(os.environ.get(THRESHOLD_VARIABLE))
        return self.stress.threshold if override is None else override

    def logits(self, texts: Sequence[object], batch_size: int = 64) -> tuple[Encoded, torch.Tensor]:
        """Validated encodings and logits in input order; batches are built from similar lengths."""
        encoded = self.preprocess(texts)
        out = torch.empty((len(encoded.input_ids), len(self.labels)))
        order = sorted(range(len(encoded.input_ids)), key=lambda i: len(encoded.input_ids[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._score_forward([encoded.input_ids[i] for i in idx])
        return encoded, out

    def score(self, texts: Sequence[object], batch_size: int = 64) -> list[UtteranceScore]:
        """Score texts in batches.

        Args:
            texts: strings (or UTF-8 bytes). All are validated before any is scored.
            batch_size: texts per forward pass.

        Returns:
            One :class:`UtteranceScore` per text, in input order.

        Raises:
            InvalidText: an item is not a usable text; the message names its position.
        """
        encoded, logits = self.logits(texts, batch_size)
        return self.postprocess(logits, encoded.texts, encoded.truncated)

    def probabilities(self, texts: Sequence[object], batch_size: int = 64) -> np.ndarray:
        """Sigmoid probabilities (n, n_labels), for evaluation."""
        return torch.sigmoid(self.logits(texts, batch_size)[1]).numpy()

    def explain(self, text: object, target: str = "stress", **options: Any) -> Explanation:
        """Word attributions for ``target`` ("stress" or a label); see :func:`sentiment.explain.explain`."""
        from sentiment.explain import explain

        return explain(self, text, target, **options)

    def target_probability(self, logits: torch.Tensor, target: str) -> torch.Tensor:
        """Differentiable probability of ``target`` from logits (batch, n_labels) -> (batch,)."""
        if target == "stress":
            return stress_from_logits(logits, self.stress_index, self.stress)
        if target not in self.labels:
            raise InvalidText(f"unknown target {target!r}: use 'stress' or one of {', '.join(self.labels)}")
        return torch.sigmoid(logits[:, self.labels.index(target)])


def _stress_definition(extra: dict[str, Any], labels: list[str]) -> StressDefinition:
    """The model's stress definition, or (without clearline.json) the negative labels it has, uncalibrated."""
    if "stress" in extra:
        try:
            definition = StressDefinition.from_json(extra["stress"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelNotLoaded(f"bad 'stress' section in {CONFIG_NAME}: {exc}") from exc
    else:
        definition = StressDefinition(tuple(n for n in labels if n.lower() in STRESS_LABELS))
    missing = [n for n in definition.labels if n not in labels]
    if missing or not definition.labels:
        raise ModelNotLoaded(
            f"the stress labels {missing or list(STRESS_LABELS)} are not among the model's labels {labels}"
        )
    return definition


_CACHE: dict[Path, EmotionModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(path: Path | str | None = None) -> EmotionModel:
    """The model at ``path`` (default ``CLEARLINE_MODEL_DIR``), loaded once per resolved path."""
    resolved = Path(path or SentimentSettings().model_dir).resolve()
    with _CACHE_LOCK:
        if resolved not in _CACHE:
            _CACHE[resolved] = EmotionModel(resolved)
        return _CACHE[resolved]
