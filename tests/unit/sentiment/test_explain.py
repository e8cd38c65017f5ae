from __future__ import annotations

import pytest
import torch

from sentiment.errors import InvalidText
from sentiment.explain import _words, top_k_size
from sentiment.model import EmotionModel

TEXT = "My card is NOT working again, I'm so angry!!"


def test_words_align_with_the_original_text(plain_model: EmotionModel) -> None:
    explanation = plain_model.explain(TEXT)
    words = [w.word for w in explanation.words]
    assert words == ["My", "card", "is", "NOT", "working", "again", ",", "I'm", "so", "angry", "!!"]
    for word in explanation.words:
        assert TEXT[word.start : word.end] == word.word


def test_subword_tokens_are_merged_into_one_word() -> None:
    # "workinged" -> work? no: tokens "working" + "##ed" both overlap the word at 0..9
    offsets = [(0, 0), (0, 7), (7, 9), (10, 12), (0, 0)]
    words = _words("workinged ok", offsets, [True, False, False, False, True])
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
    assert faith.k == top_k_size(len(explanation.words)) == 3
    assert faith.comprehensiveness == pytest.approx(faith.score - faith.score_without_top, abs=1e-5)
    ranked = sorted(explanation.words, key=lambda w: -w.attribution)
    assert explanation.top_words == [w.word for w in ranked[:3]]
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
    coarse = abs(plain_model.explain(TEXT, n_steps=2, delta_tolerance=None).delta)
    fine = abs(plain_model.explain(TEXT, n_steps=64, delta_tolerance=None).delta)
    assert fine <= coarse
    assert fine < 0.05


def test_delta_equals_captums_own_convergence_delta(plain_model: EmotionModel) -> None:
    from captum.attr import LayerIntegratedGradients

    enc = plain_model.tokenizer(TEXT, return_special_tokens_mask=True)
    ids = torch.tensor([enc["input_ids"]])
    special = torch.tensor([enc["special_tokens_mask"]], dtype=torch.bool)
    baseline = torch.where(special, ids, torch.zeros_like(ids))

    def forward(batch: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return plain_model.target_probability(
            plain_model.model(input_ids=batch, attention_mask=mask).logits, "stress"
        )

    lig = LayerIntegratedGradients(forward, plain_model.model.get_input_embeddings())
    _, delta = lig.attribute(
        ids,
        baselines=baseline,
        additional_forward_args=(torch.ones_like(ids),),
        n_steps=8,
        return_convergence_delta=True,
    )
    ours = plain_model.explain(TEXT, n_steps=8, delta_tolerance=None)
    assert ours.delta == pytest.approx(float(delta[0]), abs=1e-5)


def test_a_large_delta_triggers_a_finer_integration(plain_model: EmotionModel) -> None:
    one_try = plain_model.explain(TEXT, n_steps=1, delta_tolerance=None)
    assert one_try.n_steps == 1
    retried = plain_model.explain(TEXT, n_steps=1, delta_tolerance=1e-9)  # never met: runs to the cap
    assert retried.n_steps == 64  # 1 -> 3 -> 9 -> 27 -> 64
    assert abs(retried.delta) < abs(one_try.delta)
    met = plain_model.explain(TEXT, n_steps=1, delta_tolerance=abs(one_try.delta) + 1e-6)
    assert met.n_steps == 1
