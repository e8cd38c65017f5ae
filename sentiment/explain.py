"""Word-level explanations: Integrated Gradients over the word embeddings, merged into words.

Baseline: the same sequence with every token but [CLS]/[SEP] replaced by [PAD]. The integral runs through
Captum over the embedding vectors (``sentiment.integrated_gradients``: the path of Captum's
``LayerIntegratedGradients`` on the embedding layer, with nodes placed where the score changes).
``explain_with_layer_ig`` is the stock Captum LIG, kept as the benchmark's reference. Sub-word
attributions are summed into the words of the original text (character offsets from the fast tokenizer);
punctuation counts with the word it is typed against ("ridiculous!!!"), and the top words are content words
(function words such as "this", "me", "I" only when a text has too few others): ``sentiment.words``. The
model reads the text with its markup, URLs and long repeats neutralised (``sentiment.noise``); the offsets
point into the text as given.
The explanation carries its own faithfulness check: how much the target score drops when the top-k words
are removed (comprehensiveness), when only they are kept (sufficiency), and, for comparison, when k random
words are removed. All perturbed texts go through the model in one batch.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from sentiment.errors import InvalidText
from sentiment.integrated_gradients import integrate
from sentiment.model import kept_positions, validate_text
from sentiment.noise import Neutralised, for_model
from sentiment.types import Explanation, Faithfulness, WordAttribution
from sentiment.words import WORD, ranked_for_top

if TYPE_CHECKING:
    from sentiment.model import EmotionModel

DEFAULT_STEPS = 2  # Gauss-Legendre nodes per segment of the first pass
DEFAULT_PROBES = 5  # forward-only scores along the path (beside both ends) that place the first segments
ZOOM_CHANGE = 0.2  # a probe interval over which the score moves more gets a probe at its midpoint
# |convergence delta| above this -> a refined pass (integrated_gradients). The issue bounds |delta| by 0.05;
# 0.03 keeps a margin and, on the benchmark's texts, word rankings as good as a converged integral's
# (at 0.04-0.05 the top-k words of a few calm texts differ and comprehensiveness fell just below it).
DELTA_TOLERANCE = 0.03
# Gradient evaluations the first pass spends at least. A calm text's score hardly moves along the path,
# so its first pass is a single segment; two nodes get its (tiny) sum right but rank its words poorly.
# Stressed texts have several segments already, so the p95 moves little (2-layer model, bench: 114-134 ms
# raw against 122 ms with two nodes; the 3-layer model's p95 rose by a fifth, so it shipped without this).
MIN_FIRST_PASS = 8
# Nodes a single-segment first pass (a calm text) gets at least. Its attributions are tiny (the score
# moves by 0.01-0.05 in all), so near-tied words swap places at 8 nodes: on the bench's 60 texts 12 lifts
# comprehensiveness from 0.20444 to 0.20456 (converged integral 0.20473) and the texts whose top word
# matches the converged integral's from 58 to 59, for 25% more gradient evaluations on average and
# none more on stressed texts (a larger minimum for them too moved words of a random model further).
MIN_SINGLE_SEGMENT = 12
MAX_STEPS = 64  # gradient evaluations over all passes
RANDOM_DRAWS = 4  # random k-word removals averaged for the comparison figure
# The top words are the k of the k + TOP_CANDIDATES_EXTRA best-ranked words (content words first) whose
# removal together lowers the score most (one forward batch of at most 21 rows): on the bench's 60 texts
# content-first ranking alone took comprehensiveness from 0.2046 to 0.2014; choosing among two more
# candidates gives 0.2132 (one more: 0.2111). `clearline bench explanations` measures it.
TOP_CANDIDATES_EXTRA = 2


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int
    token_positions: list[int]  # positions in input_ids


@dataclass(frozen=True)
class _Prepared:
    text: str
    ids: list[int]
    baseline: list[int]
    words: list[_Word]
    truncated: bool


def _words(read: Neutralised, offsets: list[tuple[int, int]], special: list[bool]) -> list[_Word]:
    """Group token positions under the words of the text the model read (``read.text``) they overlap;
    words with no token are dropped. Each word is given as it stands in the original text."""
    text = read.text
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    positions: list[list[int]] = [[] for _ in spans]
    w = 0
    for pos, ((start, end), is_special) in enumerate(zip(offsets, special, strict=True)):
        if is_special or end <= start:
            continue
        while w < len(spans) and spans[w][1] <= start:
            w += 1
        if w < len(spans) and spans[w][0] < end:
            positions[w].append(pos)
    words = []
    for (start, end), kept in zip(spans, positions, strict=True):
        if kept:
            first, last = read.original_span(start, end)
            words.append(_Word(read.original[first:last], first, last, kept))
    return words


def top_k_size(n_words: int) -> int:
    """k for the faithfulness check: 20% of the words, at least 1, at most 5."""
    return max(1, min(5, math.ceil(0.2 * n_words)))


def _prepare(model: EmotionModel, text: object, target: str) -> _Prepared:
    text = validate_text(text)
    model.target_probability(torch.zeros(1, len(model.labels)), target)  # fail fast on a bad target
    read = for_model(text)
    tokenizer = model.tokenizer
    enc = tokenizer(read.text, truncation=False, return_offsets_mapping=True, return_special_tokens_mask=True)
    ids: list[int] = enc["input_ids"]
    offsets: list[tuple[int, int]] = enc["offset_mapping"]
    special = [bool(s) for s in enc["special_tokens_mask"]]
    truncated = len(ids) > model.max_length
    if truncated:
        keep = kept_positions(len(ids), model.max_length)
        ids, offsets, special = [ids[i] for i in keep], [offsets[i] for i in keep], [special[i] for i in keep]
    words = _words(read, offsets, special)
    if not words:
        raise InvalidText("text has no words the model's tokenizer keeps")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    baseline = [t if s else pad_id for t, s in zip(ids, special, strict=True)]
    return _Prepared(text, ids, baseline, words, truncated)


def explain(
    model: EmotionModel,
    text: object,
    target: str = "stress",
    n_steps: int = DEFAULT_STEPS,
    delta_tolerance: float | None = DELTA_TOLERANCE,
    max_steps: int = MAX_STEPS,
    probes: int = DEFAULT_PROBES,
) -> Explanation:
    """Explain ``model``'s ``target`` probability for one text.

    Args:
        model: a loaded :class:`~sentiment.model.EmotionModel`.
        text: the utterance (validated like :meth:`EmotionModel.score`).
        target: "stress" or one of the model's labels.
        n_steps: Gauss-Legendre nodes per segment of the first pass (evaluated in one batch).
        delta_tolerance: while |convergence delta| exceeds it, segments with a large own error are
            integrated again more finely, within ``max_steps`` gradient evaluations in all; ``None`` = one
            pass. ``n_steps`` of the result counts every gradient evaluation spent.
        probes: scores computed (forward only, in one batch with the text's own score; the baseline's is
            cached per length) at evenly spread points of the path, then at the midpoints of the
            intervals where the score jumps (``steep_midpoints``); the first pass's segments are narrow
            where it changes, and the first pass spends at least ``MIN_FIRST_PASS`` gradient
            evaluations (``MIN_SINGLE_SEGMENT`` where it is one segment). ``0`` with
            ``delta_tolerance=None`` is exactly Captum's LIG with ``n_steps`` Gauss-Legendre steps.

    Raises:
        InvalidText: bad text, unknown target, or a text with no words the tokenizer keeps.
    """
    if n_steps < 1:
        raise InvalidText("n_steps must be >= 1")
    if probes < 0:
        raise InvalidText("probes must be >= 0")
    prepared = _prepare(model, text, target)
    embeddings = model.model.get_input_embeddings()
    mask = torch.ones(1, len(prepared.ids), dtype=torch.long)

    def score(embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = model.classifier(inputs_embeds=embeds, attention_mask=mask).logits
        return model.target_probability(logits, target)

    with torch.no_grad():
        start, end = embeddings(torch.tensor([prepared.baseline, prepared.ids])).split(1)

        def scores_at(alphas: list[float]) -> list[tuple[float, float]]:
            points = start + torch.tensor(alphas).view(-1, 1, 1) * (end - start)
            values: list[float] = score(points, mask.expand(len(alphas), -1)).tolist()
            return list(zip(alphas, values, strict=True))

        known = scores_at([1.0, *(j / (probes + 1) for j in range(1, probes + 1))])
        f_text = known[0][1]
        known.append((0.0, _baseline_score(model, prepared.baseline, target, lambda: scores_at([0.0])[0][1])))
        zoom = steep_midpoints(known) if probes else []
        if zoom:
            known += scores_at(zoom)

    # without probes: exactly Captum's fixed rule
    first_pass, single_segment = (MIN_FIRST_PASS, MIN_SINGLE_SEGMENT) if probes else (0, 0)
    result = integrate(
        score,
        start,
        end,
        mask,
        known,
        n_steps,
        delta_tolerance,
        max(max_steps, n_steps),
        first_pass,
        single_segment,
    )
    return _explanation(model, prepared, target, result.per_token, result.delta, f_text, result.evaluations)


def _baseline_score(
    model: EmotionModel, baseline: list[int], target: str, compute: Callable[[], float]
) -> float:
    """The target score of the all-[PAD] baseline, computed once per model, target and token pattern.

    The baseline depends only on the text's length (and where truncation kept special tokens), so
    texts of one length share it; the cache saves one row of every probe batch. Entries are bounded
    by the model's length limit times the targets asked for; a race computes a value twice, harmlessly.
    """
    key = (target, tuple(baseline))
    cached = model.baseline_scores.get(key)
    if cached is None:
        cached = model.baseline_scores[key] = compute()
    return cached


def steep_midpoints(known: list[tuple[float, float]]) -> list[float]:
    """Midpoints of the probe intervals over which the score moves by more than ``ZOOM_CHANGE``.

    Scoring them (one more forward-only batch, half the price of a gradient evaluation each) halves the
    interval the jump lies in before any gradient is spent, so the first segments fit it more closely:
    on the benchmark's utterances p95 latency fell by about a sixth and the word attributions moved
    closer to a converged integral's.
    """
    points = sorted(known)
    pairs = zip(points, points[1:], strict=False)
    return [(a + b) / 2 for (a, fa), (b, fb) in pairs if abs(fb - fa) > ZOOM_CHANGE]


def explain_with_layer_ig(
    model: EmotionModel, text: object, target: str = "stress", n_steps: int = 50
) -> Explanation:
    """The reference: stock Captum ``LayerIntegratedGradients`` on the embedding layer, one fixed pass.

    It attaches hooks to the model's embedding layer, so it must not run beside other calls on the same
    model; the benchmark runs it alone.
    """
    prepared = _prepare(model, text, target)
    input_ids = torch.tensor([prepared.ids])

    def forward(batch_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = model.model(input_ids=batch_ids, attention_mask=mask).logits
        return model.target_probability(logits, target)

    lig = LayerIntegratedGradients(forward, model.model.get_input_embeddings())
    attributions, delta = lig.attribute(
        input_ids,
        baselines=torch.tensor([prepared.baseline]),
        additional_forward_args=(torch.ones_like(input_ids),),
        n_steps=n_steps,
        internal_batch_size=n_steps,
        return_convergence_delta=True,
    )
    per_token = attributions.sum(dim=-1)[0].detach().numpy()
    f_text = float(model.target_probability(model._forward([prepared.ids]), target)[0])
    return _explanation(model, prepared, target, per_token, float(delta[0]), f_text, n_steps)


def _explanation(
    model: EmotionModel,
    prepared: _Prepared,
    target: str,
    per_token: np.ndarray,
    delta: float,
    f_text: float,
    evaluations: int,
) -> Explanation:
    words = prepared.words
    scored = [
        WordAttribution(w.text, w.start, w.end, round(float(per_token[w.token_positions].sum()), 6))
        for w in words
    ]
    k = top_k_size(len(words))
    ranked = ranked_for_top([w.text for w in words], [w.attribution for w in scored])
    top = _most_comprehensive(model, target, prepared.ids, words, ranked[: k + TOP_CANDIDATES_EXTRA], k)
    seed = zlib.crc32(prepared.text.encode("utf-8"))
    faithfulness = _faithfulness(model, target, prepared.ids, f_text, words, top, seed)
    return Explanation(
        text=prepared.text,
        target=target,
        words=scored,
        delta=round(delta, 6),
        faithfulness=faithfulness,
        model=model.version,
        n_steps=evaluations,
        truncated=prepared.truncated,
        top_words=[words[i].text for i in top],
    )


def _without(ids: list[int], words: list[_Word], drop: set[int]) -> list[int]:
    """The token ids with the words ``drop`` (indices into ``words``) removed."""
    removed = {p for i in drop for p in words[i].token_positions}
    return [t for p, t in enumerate(ids) if p not in removed]


def _most_comprehensive(
    model: EmotionModel, target: str, ids: list[int], words: list[_Word], candidates: list[int], k: int
) -> list[int]:
    """The ``k`` of ``candidates`` (best-ranked first) whose removal together lowers the score most, in
    their ranking's order; the first ``k`` when there is no choice."""
    if len(candidates) <= k:
        return candidates
    subsets = list(itertools.combinations(candidates, k))
    scores = model.target_probability(model._forward([_without(ids, words, set(s)) for s in subsets]), target)
    return list(subsets[int(torch.argmin(scores))])


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
        return _without(ids, words, drop)

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
