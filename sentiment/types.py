"""Plain result types of the sentiment package. Downstream code (triage, api) sees only these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UtteranceScore:
    """Scores of one utterance."""

    text: str
    emotions: dict[str, float]  # label -> probability (28 GoEmotions labels for the default model)
    labels: list[str]  # labels over their per-label threshold
    stress: float  # calibrated stress probability in [0, 1]
    flag: bool  # stress >= configured threshold
    model: str  # model version, e.g. "clearline-emotions-minilm@<sha>"
    truncated: bool = False  # the text was longer than the model's limit and was cut


@dataclass(frozen=True)
class WordAttribution:
    word: str
    start: int  # character offsets into the original text
    end: int
    attribution: float


@dataclass(frozen=True)
class Faithfulness:
    k: int  # number of top words removed / kept
    score: float  # target score of the full text
    comprehensiveness: float  # score drop when the top-k words are removed
    sufficiency: float  # score drop when only the top-k words are kept
    random_comprehensiveness: float  # mean drop when k random words are removed
    score_without_top: float  # target score with the top-k words removed


@dataclass(frozen=True)
class Explanation:
    text: str
    target: str  # "stress" or an emotion label
    words: list[WordAttribution]
    delta: float  # Integrated Gradients convergence delta
    faithfulness: Faithfulness
    model: str
    n_steps: int
    truncated: bool = False
    top_words: list[str] = field(default_factory=list)
