"""Word-level explanations: Captum Layer Integrated Gradients over the word embeddings.

Baseline: the same sequence with every token but [CLS]/[SEP] replaced by [PAD]. Sub-word attributions
are summed into the words of the original text (character offsets from the fast tokenizer). The
explanation carries its own faithfulness check: how much the target score drops when the top-k words are
removed (comprehensiveness), when only they are kept (sufficiency), and, for comparison, when k random
words are removed. All perturbed texts go through the model in one batch.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from sentiment.errors import InvalidText
from sentiment.model import validate_text
from sentiment.types import Explanation, Faithfulness, WordAttribution

if TYPE_CHECKING:
    from sentiment.model import EmotionModel

DEFAULT_STEPS = 8  # Gauss-Legendre steps of the first attempt; enough for most support utterances
DELTA_TOLERANCE = 0.05  # |convergence delta| above this -> integrate again with 3x the steps
MAX_STEPS = 64
RANDOM_DRAWS = 10
# A word: letters/digits with inner apostrophes or hyphens ("can't", "e-mail"), or a run of other symbols
# (punctuation, emoji).
_WORD = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]+")


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int
    token_positions: list[int]  # positions in input_ids


def _words(text: str, offsets: list[tuple[int, int]], special: list[bool]) -> list[_Word]:
    """Group token positions under the words of ``text`` they overlap; words with no token are dropped."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    positions: list[list[int]] = [[] for _ in spans]
    w = 0
    for pos, ((start, end), is_special) in enumerate(zip(offsets, special, strict=True)):
        if is_special or end <= start:
            continue
        while w < len(spans) and spans[w][1] <= start:
            w += 1
        if w < len(spans) and spans[w][0] < end:
            positions[w].append(pos)
    return [_Word(text[s:e], s, e, p) for (s, e), p in zip(spans, positions, strict=True) if p]


def top_k_size(n_words: int) -> int:
    """k for the faithfulness check: 20% of the words, at least 1, at most 5."""
    return max(1, min(5, math.ceil(0.2 * n_words)))


def explain(
    model: EmotionModel,
    text: object,
    target: str = "stress",
    n_steps: int = DEFAULT_STEPS,
    method: str = "gausslegendre",
    delta_tolerance: float | None = DELTA_TOLERANCE,
) -> Explanation:
    """Explain ``model``'s ``target`` probability for one text.

    Args:
        model: a loaded :class:`~sentiment.model.EmotionModel`.
        text: the utterance (validated like :meth:`EmotionModel.score`).
        target: "stress" or one of the model's labels.
        n_steps: integration steps of the first attempt, all evaluated in one internal batch.
        method: Captum integration method.
        delta_tolerance: while |convergence delta| exceeds it, integrate again with three times the
            steps (up to ``MAX_STEPS``); ``None`` = one attempt. The steps used are in the result.

    Raises:
        InvalidText: bad text, unknown target, or a text with no words the tokenizer keeps.
    """
    text = validate_text(text)
    model.target_probability(torch.zeros(1, len(model.labels)), target)  # fail fast on a bad target
    if n_steps < 1:
        raise InvalidText("n_steps must be >= 1")
    tokenizer = model.tokenizer
    enc = tokenizer(
        text,
        truncation=True,
        max_length=model.max_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    truncated = len(tokenizer(text, truncation=False)["input_ids"]) > model.max_length
    ids: list[int] = enc["input_ids"]
    words = _words(text, enc["offset_mapping"], [bool(s) for s in enc["special_tokens_mask"]])
    if not words:
        raise InvalidText("text has no words the model's tokenizer keeps")

    input_ids = torch.tensor([ids])
    special = torch.tensor([enc["special_tokens_mask"]], dtype=torch.bool)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    baseline = torch.where(special, input_ids, torch.full_like(input_ids, pad_id))
    attention = torch.ones_like(input_ids)

    def forward(batch_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = model.model(input_ids=batch_ids, attention_mask=mask).logits
        return model.target_probability(logits, target)

    lig = LayerIntegratedGradients(forward, model.model.get_input_embeddings())
    # f(text) - f(baseline) is what the attributions must add up to (completeness).
    endpoints = model.target_probability(model._forward([ids, baseline[0].tolist()]), target)
    expected_total = float(endpoints[0] - endpoints[1])
    steps = n_steps
    while True:
        with model.lock:
            attributions = lig.attribute(
                input_ids,
                baselines=baseline,
                additional_forward_args=(attention,),
                n_steps=steps,
                method=method,
                internal_batch_size=steps,
            )
        per_token = attributions.sum(dim=-1)[0].detach().numpy()
        delta = float(per_token.sum()) - expected_total  # Captum's convergence delta
        if delta_tolerance is None or abs(delta) <= delta_tolerance or steps >= MAX_STEPS:
            break
        steps = min(MAX_STEPS, steps * 3)
    scored = [
        WordAttribution(w.text, w.start, w.end, round(float(per_token[w.token_positions].sum()), 6))
        for w in words
    ]
    k = top_k_size(len(words))
    ranked = sorted(range(len(words)), key=lambda i: -scored[i].attribution)
    top = ranked[:k]
    seed = zlib.crc32(text.encode("utf-8"))
    faithfulness = _faithfulness(model, target, ids, float(endpoints[0]), words, top, seed)
    return Explanation(
        text=text,
        target=target,
        words=scored,
        delta=round(delta, 6),
        faithfulness=faithfulness,
        model=model.version,
        n_steps=steps,
        truncated=truncated,
        top_words=[words[i].text for i in top],
    )


def _faithfulness(
    model: EmotionModel,
    target: str,
    ids: list[int],
    full: float,
    words: list[_Word],
    top: list[int],
    seed: int,
) -> Faithfulness:
    """Score the text without the top-k words, with only them, and without k random words, in one batch."""
    k = len(top)
    word_positions = {p for w in words for p in w.token_positions}
    keep_always = [p for p in range(len(ids)) if p not in word_positions]  # [CLS], [SEP]

    def without(drop: set[int]) -> list[int]:
        removed = {p for i in drop for p in words[i].token_positions}
        return [t for p, t in enumerate(ids) if p not in removed]

    only_top = sorted(keep_always + [p for i in top for p in words[i].token_positions])
    rng = np.random.default_rng(seed)
    random_sets = [set(rng.choice(len(words), size=k, replace=False).tolist()) for _ in range(RANDOM_DRAWS)]
    variants = [without(set(top)), [ids[p] for p in only_top]] + [without(s) for s in random_sets]
    scores = model.target_probability(model._forward(variants), target).numpy()
    no_top, only = float(scores[0]), float(scores[1])
    return Faithfulness(
        k=k,
        score=round(full, 6),
        comprehensiveness=round(full - no_top, 6),
        sufficiency=round(full - only, 6),
        random_comprehensiveness=round(float(np.mean(full - scores[2:])), 6),
        score_without_top=round(no_top, 6),
    )
