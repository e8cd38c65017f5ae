from __future__ import annotations

import pytest
import torch

from sentiment.errors import InvalidText
from sentiment.explain import (
    TOP_CANDIDATES_EXTRA,
    _most_comprehensive,
    _prepare,
    _without,
    _words,
    explain_with_layer_ig,
    steep_midpoints,
    top_k_size,
)
from sentiment.model import EmotionModel
from sentiment.noise import as_written
from sentiment.words import is_content

TEXT = "My card is NOT working again, I'm so angry!!"


def test_words_align_with_the_original_text(plain_model: EmotionModel) -> None:
    explanation = plain_model.explain(TEXT)
    words = [w.word for w in explanation.words]
    # punctuation counts with the word it is typed against (sentiment.words)
    assert words == ["My", "card", "is", "NOT", "working", "again,", "I'm", "so", "angry!!"]
    for word in explanation.words:
        assert TEXT[word.start : word.end] == word.word


def test_subword_tokens_are_merged_into_one_word() -> None:
    # "workinged" -> work? no: tokens "working" + "##ed" both overlap the word at 0..9
    offsets = [(0, 0), (0, 7), (7, 9), (10, 12), (0, 0)]
    words = _words(as_written("workinged ok"), offsets, [True, False, False, False, True])
    assert [(w.text, w.token_positions) for w in words] == [("workinged", [1, 2]), ("ok", [3])]


def test_attributions_plus_delta_add_up_to_the_score_difference(plain_model: EmotionModel) -> None:
    """Completeness of Integrated Gradients: sum(attributions) - delta = f(text) - f(baseline)."""
    explanation = plain_model.explain(TEXT, n_steps=32, delta_tolerance=None)
    enc = plain_model.tokenizer(TEXT, return_special_tokens_mask=True)
    ids = torch.tensor([enc["input_ids"]])
    special = torch.tensor([enc["special_tokens_mask"]], dtype=torch.bool)
    baseline = torch.where(special, ids, torch.zeros_like(ids))
    with torch.no_grad():
        f = plain_model.target_probability(
            plain_model.model(input_ids=torch.cat([ids, baseline])).logits, "stress"
        )
    total = sum(w.attribution for w in explanation.words)
    assert total - explanation.delta == pytest.approx(float(f[0] - f[1]), abs=1e-4)
    assert explanation.faithfulness.score == pytest.approx(float(f[0]), abs=1e-5)


def test_faithfulness_figures_are_consistent(plain_model: EmotionModel) -> None:
    explanation = plain_model.explain(TEXT)
    faith = explanation.faithfulness
    assert faith.k == top_k_size(len(explanation.words)) == 2  # 9 words: punctuation joins its word
    assert faith.comprehensiveness == pytest.approx(faith.score - faith.score_without_top, abs=1e-5)
    # content words first ("My", "is", "I'm", "so" are function words), chosen among the best-ranked few
    ranked = sorted((w for w in explanation.words if is_content(w.word)), key=lambda w: -w.attribution)
    assert set(explanation.top_words) <= {w.word for w in ranked[: 2 + TOP_CANDIDATES_EXTRA]}
    [score] = plain_model.score([TEXT])
    assert faith.score == pytest.approx(score.stress, abs=1e-5)


def test_the_same_text_gives_the_same_explanation(plain_model: EmotionModel) -> None:
    assert plain_model.explain(TEXT) == plain_model.explain(TEXT)


def test_an_emotion_label_can_be_the_target(plain_model: EmotionModel) -> None:
    explanation = plain_model.explain(TEXT, target="gratitude")
    assert explanation.target == "gratitude"
    [score] = plain_model.score([TEXT])
    assert explanation.faithfulness.score == pytest.approx(score.emotions["gratitude"], abs=1e-5)


def test_unknown_target_and_bad_text_are_refused(plain_model: EmotionModel) -> None:
    with pytest.raises(InvalidText, match="unknown target 'rage'"):
        plain_model.explain(TEXT, target="rage")
    with pytest.raises(InvalidText, match="empty"):
        plain_model.explain("   ")
    with pytest.raises(InvalidText, match="n_steps"):
        plain_model.explain(TEXT, n_steps=0)


def test_more_steps_shrink_the_convergence_delta(plain_model: EmotionModel) -> None:
    coarse = abs(plain_model.explain(TEXT, n_steps=2, delta_tolerance=None, probes=0).delta)
    fine = abs(plain_model.explain(TEXT, n_steps=64, delta_tolerance=None, probes=0).delta)
    assert fine <= coarse
    assert fine < 0.05


def test_one_pass_equals_captums_layer_integrated_gradients(plain_model: EmotionModel) -> None:
    """Integrating over the embedding vectors is LIG on the embedding layer: same words, delta, figures."""
    ours = plain_model.explain(TEXT, n_steps=8, delta_tolerance=None, probes=0)
    reference = explain_with_layer_ig(plain_model, TEXT, n_steps=8)
    assert ours.delta == pytest.approx(reference.delta, abs=1e-5)
    assert [w.word for w in ours.words] == [w.word for w in reference.words]
    for mine, theirs in zip(ours.words, reference.words, strict=True):
        assert mine.attribution == pytest.approx(theirs.attribution, abs=1e-5)
    assert ours.faithfulness == reference.faithfulness


def test_a_large_delta_triggers_refined_passes_within_the_budget(plain_model: EmotionModel) -> None:
    one_pass = plain_model.explain(TEXT, n_steps=1, delta_tolerance=None, probes=0)
    assert one_pass.n_steps == 1
    refined = plain_model.explain(TEXT, n_steps=1, delta_tolerance=1e-9, probes=0)  # never met
    assert 1 < refined.n_steps <= 64
    assert abs(refined.delta) < abs(one_pass.delta)
    met = plain_model.explain(TEXT, n_steps=1, delta_tolerance=abs(one_pass.delta) + 1e-6, probes=0)
    assert met.n_steps == 1
    # cutting the one segment at its node gives 2 pieces x 2 nodes: 1 + 4 would exceed a budget of 4
    capped = plain_model.explain(TEXT, n_steps=1, delta_tolerance=1e-9, probes=0, max_steps=4)
    assert capped.n_steps == 1 and capped.delta == one_pass.delta


def test_probes_only_move_the_nodes_not_the_answer(plain_model: EmotionModel) -> None:
    """With and without probes the attributions approximate the same integral."""
    plain = plain_model.explain(TEXT, n_steps=64, delta_tolerance=None, probes=0)
    probed = plain_model.explain(TEXT, probes=5, delta_tolerance=0.01)
    assert abs(probed.delta) <= 0.01 and probed.n_steps < 64
    for a, b in zip(plain.words, probed.words, strict=True):
        assert a.attribution == pytest.approx(b.attribution, abs=0.02)
    with pytest.raises(InvalidText, match="probes"):
        plain_model.explain(TEXT, probes=-1)


def test_probe_intervals_where_the_score_jumps_get_a_midpoint() -> None:
    known = [(0.0, 0.02), (1.0, 0.9), (0.25, 0.03), (0.5, 0.6), (0.75, 0.85)]  # in any order: it sorts
    assert steep_midpoints(known) == [0.375, 0.625]  # 0.03 -> 0.6 and 0.6 -> 0.85 move by more than 0.2
    assert steep_midpoints([(0.0, 0.1), (1.0, 0.2), (0.5, 0.15)]) == []


def test_the_baseline_score_is_computed_once_per_target_and_length(
    plain_model: EmotionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain_model.baseline_scores.clear()
    fixed_nodes = {"probes": 0, "delta_tolerance": None}  # node placement then ignores the ends' scores
    first = plain_model.explain("my card is blocked", **fixed_nodes)
    [(key, cached)] = plain_model.baseline_scores.items()
    target, baseline = key
    assert target == "stress" and len(baseline) == len(
        plain_model.tokenizer("my card is blocked")["input_ids"]
    )
    with torch.no_grad():  # the cached value is the model's score of the all-[PAD] input
        logits = plain_model.model(input_ids=torch.tensor([list(baseline)])).logits
    assert cached == pytest.approx(float(plain_model.target_probability(logits, "stress")[0]), abs=1e-5)
    # The same length reuses it (a wrong cached value would show in the delta); another
    # target or length computes its own.
    plain_model.baseline_scores[key] = cached + 0.5
    shifted = plain_model.explain("my card is blocked", **fixed_nodes)
    assert shifted.delta == pytest.approx(first.delta + 0.5, abs=1e-5)
    plain_model.baseline_scores.clear()
    plain_model.explain("my card is blocked", target="anger")
    plain_model.explain("my card is blocked now")
    assert {k[0] for k in plain_model.baseline_scores} == {"anger", "stress"}
    assert len(plain_model.baseline_scores) == 2


def test_the_top_words_are_the_candidates_whose_removal_lowers_the_score_most(
    plain_model: EmotionModel,
) -> None:
    prepared = _prepare(plain_model, TEXT, "stress")
    words, candidates = prepared.words, [0, 3, 4, 8]
    chosen = _most_comprehensive(plain_model, "stress", prepared.ids, words, candidates, 2)

    def score_without(drop: list[int]) -> float:
        ids = _without(prepared.ids, words, set(drop))
        return float(plain_model.target_probability(plain_model._forward([ids]), "stress")[0])

    pairs = [[a, b] for i, a in enumerate(candidates) for b in candidates[i + 1 :]]
    assert score_without(chosen) == pytest.approx(min(score_without(p) for p in pairs), abs=1e-6)
    assert chosen == sorted(chosen, key=candidates.index)  # in the ranking's order
    assert _most_comprehensive(plain_model, "stress", prepared.ids, words, [4, 0], 2) == [4, 0]  # no choice
