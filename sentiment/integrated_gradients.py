"""Integrated Gradients over the word embeddings, with nodes placed where the score changes.

The path is the straight line from the baseline's word embeddings to the text's, exactly the path of
Captum's ``LayerIntegratedGradients`` on the embedding layer. Captum's ``IntegratedGradients`` runs on
``inputs_embeds`` instead: the same integral, without the two extra forward passes LIG spends to read the
layer's output at both ends, and without hooks on the shared model (so concurrent calls need no lock).

Why adaptive: along the PAD-baseline path the stress score of an upset utterance is flat, then jumps
(e.g. 0.09 -> 0.67 within 5 % of the path) once the words' signal "switches on". A fixed Gauss-Legendre
rule with 8 or even 64 nodes misses such a step, and the completeness check (convergence delta) fails.
So the integral is adaptive: the path is a set of segments, each integrated with Gauss-Legendre
nodes, and each with its own completeness error (its attributions' sum minus the score change between its
ends). A segment with a large error is cut at its own nodes, whose scores are already known from its
forward pass, and its pieces are integrated again. The segments' errors add up to Captum's convergence
delta for the whole path: sum(attributions) - (f(text) - f(baseline)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients
from captum.attr._utils.approximation_methods import approximation_parameters

SEGMENT_STEPS = 2  # Gauss-Legendre nodes per segment after the first pass
FLAT_CHANGE = 0.05  # neighbouring probe pieces share one first-pass segment while the score moves less
SPLIT_SHARE = 0.5  # a segment whose own |delta| exceeds this share of the tolerance is split

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (embeds, mask) -> target score (batch,)


@dataclass
class PathResult:
    per_token: np.ndarray  # attribution of each token position (summed over the embedding dimension)
    delta: float  # sum(per_token) - (f(end) - f(start))
    evaluations: int  # gradient evaluations spent over all passes
    passes: int


@dataclass(frozen=True)
class _Path:
    start: torch.Tensor  # (1, tokens, dim) baseline embeddings
    end: torch.Tensor  # (1, tokens, dim) text embeddings
    mask: torch.Tensor  # (1, tokens)


@dataclass(frozen=True)
class _Span:
    low: float
    high: float
    f_low: float
    f_high: float


@dataclass(frozen=True)
class _Segment:
    span: _Span
    per_token: np.ndarray  # this segment's share of the integral
    nodes: list[tuple[float, float]]  # (alpha, score) at its Gauss-Legendre nodes

    @property
    def delta(self) -> float:
        """This segment's completeness error; the segments' errors add up to the whole path's."""
        return float(self.per_token.sum()) - (self.span.f_high - self.span.f_low)

    def split_at_nodes(self) -> list[_Span]:
        """The segment cut at its own nodes, whose scores are known: no extra forward pass is needed."""
        edges = [(self.span.low, self.span.f_low), *self.nodes, (self.span.high, self.span.f_high)]
        return [_Span(a, b, fa, fb) for (a, fa), (b, fb) in zip(edges, edges[1:], strict=False)]


def integrate(
    score: ScoreFn,
    start: torch.Tensor,
    end: torch.Tensor,
    mask: torch.Tensor,
    known: list[tuple[float, float]],
    n_steps: int,
    tolerance: float | None,
    max_evaluations: int,
    min_first_pass: int = 0,
    min_single_segment: int = 0,
) -> PathResult:
    """Integrated Gradients of ``score`` from ``start`` to ``end`` embeddings (both (1, tokens, dim)).

    Args:
        known: (alpha, score) pairs already computed on the path: both ends and any probes between.
        n_steps: Gauss-Legendre nodes per segment of the first pass. Its segments join the known points,
            merging neighbours over which the score hardly moves; with only the two ends known it is one
            segment, which is Captum's plain Gauss-Legendre rule.
        tolerance: while |delta| exceeds it and ``max_evaluations`` allows, the segments with the largest
            own error are cut at their nodes and integrated again (``SEGMENT_STEPS`` nodes each), all in
            one batch per pass. ``None`` = exactly one pass.
        min_first_pass: the first pass's segments get more than ``n_steps`` nodes each where needed for
            at least this many gradient evaluations in all (few segments: a path whose score hardly moves).
        min_single_segment: a first pass that is one segment (the score hardly moves along the whole
            path) gets at least this many nodes.
    """
    path = _Path(start, end, mask)
    first = _first_spans(sorted(known), FLAT_CHANGE)
    if len(first) == 1:
        min_first_pass = max(min_first_pass, min_single_segment)
    n_steps = max(n_steps, -(-min_first_pass // len(first)))  # ceiling division
    segments = _evaluate(score, path, first, n_steps)
    evaluations, passes = n_steps * len(first), 1
    while tolerance is not None and abs(_delta(segments)) > tolerance:
        ranked = sorted(segments, key=lambda s: -abs(s.delta))
        chosen = [s for s in ranked if abs(s.delta) > SPLIT_SHARE * tolerance] or ranked[:1]
        split: list[_Segment] = []
        spans: list[_Span] = []
        for segment in chosen:
            pieces = segment.split_at_nodes()
            if evaluations + (len(spans) + len(pieces)) * SEGMENT_STEPS > max_evaluations:
                break
            split.append(segment)
            spans.extend(pieces)
        if not spans:
            break
        split_ids = {id(s) for s in split}
        kept = [s for s in segments if id(s) not in split_ids]
        segments = kept + _evaluate(score, path, spans, SEGMENT_STEPS)
        evaluations += len(spans) * SEGMENT_STEPS
        passes += 1
    per_token = np.sum([s.per_token for s in segments], axis=0)
    return PathResult(per_token, _delta(segments), evaluations, passes)


def _first_spans(known: list[tuple[float, float]], flat: float) -> list[_Span]:
    """Spans between the known (alpha, score) points; neighbouring pieces are merged while the score
    changes by at most ``flat`` in all over the merged span."""
    spans: list[_Span] = []
    low, f_low = known[0]
    change = 0.0
    for i in range(1, len(known)):
        b, f_b = known[i]
        change += abs(f_b - known[i - 1][1])
        if i + 1 < len(known) and change + abs(known[i + 1][1] - f_b) <= flat:
            continue
        spans.append(_Span(low, b, f_low, f_b))
        low, f_low, change = b, f_b, 0.0
    return spans


def _delta(segments: list[_Segment]) -> float:
    return sum(s.delta for s in segments)


def _evaluate(score: ScoreFn, path: _Path, spans: list[_Span], steps: int) -> list[_Segment]:
    """Gauss-Legendre IG over each span, in one Captum call: every span is one input row with its own
    baseline (the path at the span's start)."""
    lows = torch.tensor([s.low for s in spans], dtype=path.start.dtype).view(-1, 1, 1)
    highs = torch.tensor([s.high for s in spans], dtype=path.start.dtype).view(-1, 1, 1)
    direction = path.end - path.start
    values: list[torch.Tensor] = []

    def recording_score(embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = score(embeds, mask)
        values.append(out.detach())
        return out

    attributions = IntegratedGradients(recording_score).attribute(
        path.start + highs * direction,
        baselines=path.start + lows * direction,
        additional_forward_args=(path.mask.expand(len(spans), -1),),
        n_steps=steps,
        method="gausslegendre",
        internal_batch_size=len(spans) * steps,
    )
    per_token = attributions.sum(dim=2).detach().numpy()  # (spans, tokens)
    # Captum evaluates node-major: every span at its first node, then every span at its second...
    _, alphas_of = approximation_parameters("gausslegendre")
    node_fractions = alphas_of(steps)
    node_values = torch.cat(values).numpy().reshape(steps, len(spans))
    return [
        _Segment(
            span,
            per_token[i],
            [
                (span.low + x * (span.high - span.low), float(node_values[j, i]))
                for j, x in enumerate(node_fractions)
            ],
        )
        for i, span in enumerate(spans)
    ]
