"""The classifier whose last layer runs for [CLS] only gives the stock model's logits and gradients."""

from __future__ import annotations

import logging

import pytest
import torch
from transformers import DistilBertConfig, DistilBertForSequenceClassification

from sentiment import first_token
from sentiment.first_token import FirstTokenLayer, first_token_classifier
from sentiment.model import EmotionModel


def test_the_fast_copy_shares_the_parameters_and_leaves_the_stock_model_alone(
    plain_model: EmotionModel,
) -> None:
    fast = plain_model.classifier
    assert fast is not plain_model.model
    assert isinstance(fast.bert.encoder.layer[-1], FirstTokenLayer)  # type: ignore[union-attr,index]
    assert not isinstance(plain_model.model.bert.encoder.layer[-1], FirstTokenLayer)  # type: ignore[union-attr,index]
    assert {id(p) for p in fast.parameters()} == {id(p) for p in plain_model.model.parameters()}


def test_padded_batches_give_the_stock_logits(plain_model: EmotionModel) -> None:
    batch = plain_model.tokenizer(
        ["my card is not working again", "thanks", "i am so angry , the card was not working"],
        padding=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        stock = plain_model.model(**batch).logits
        fast = plain_model.classifier(**batch).logits
    assert torch.allclose(stock, fast, atol=1e-5)


def test_gradients_through_the_embeddings_match(plain_model: EmotionModel) -> None:
    ids = plain_model.tokenizer(["i am so angry , my card is not working"], return_tensors="pt")["input_ids"]
    embeds = plain_model.model.get_input_embeddings()(ids).detach()
    mask = torch.ones_like(ids)
    grads = []
    for net in (plain_model.model, plain_model.classifier):
        x = embeds.clone().requires_grad_(True)
        logits = net(inputs_embeds=x, attention_mask=mask).logits
        (grad,) = torch.autograd.grad(logits[:, 2].sum(), x)
        grads.append(grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-5)
    assert grads[0].abs().sum() > 0


def test_other_architectures_keep_the_stock_forward() -> None:
    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, num_labels=3)
    model = DistilBertForSequenceClassification(config).eval()
    assert first_token_classifier(model) is model


def test_a_copy_that_disagrees_is_not_used(
    plain_model: EmotionModel, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(first_token, "_CHECK_TOLERANCE", -1.0)  # any difference, even 0, now disagrees
    with caplog.at_level(logging.WARNING, logger="sentiment.first_token"):
        assert first_token_classifier(plain_model.model) is plain_model.model
    assert "differs from the stock forward" in caplog.text
