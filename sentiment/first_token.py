"""A classifier that computes the last encoder layer for the first token only.

A BERT sequence classifier reads one vector: the pooler takes the last layer's output at [CLS] and the
classifier head sees nothing else. The stock forward still computes the last layer for every token; here
that layer computes keys and values for all tokens (the [CLS] query attends to them) but the query, the
attention output and the feed-forward block for [CLS] alone. The logits are the same (checked at load
against the stock forward); about two-fifths of the work of the shipped 2-layer model (a seventh of a
6-layer one) is skipped, in scoring and in the gradient passes of the explanations alike.

The stock model is left untouched (the benchmark's baselines and the reference Captum LIG run on it); the
fast classifier is a structural copy that shares its parameters. Architectures this does not recognise,
or a copy whose logits differ, fall back to the stock forward.
"""

from __future__ import annotations

import copy
import itertools
import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

log = logging.getLogger(__name__)

_CHECK_TOLERANCE = 1e-4  # max |logit difference| against the stock forward


class FirstTokenLayer(nn.Module):
    """A BERT encoder layer evaluated for the first position only; output (batch, 1, hidden)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer: Any = layer  # a BertLayer; its submodules are read by name

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *args: object,
        **kwargs: object,
    ) -> torch.Tensor:
        attention = self.layer.attention
        heads = attention.self
        batch, tokens, _ = hidden_states.shape
        size = heads.attention_head_size
        first = hidden_states[:, :1]
        query = heads.query(first).view(batch, 1, -1, size).transpose(1, 2)
        key = heads.key(hidden_states).view(batch, tokens, -1, size).transpose(1, 2)
        value = heads.value(hidden_states).view(batch, tokens, -1, size).transpose(1, 2)
        mask = None if attention_mask is None else attention_mask[..., :1, :]
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=heads.scaling)
        context = context.transpose(1, 2).reshape(batch, 1, -1)
        attended = attention.output(context, first)
        out: torch.Tensor = self.layer.feed_forward_chunk(attended)
        return out


def first_token_classifier(model: PreTrainedModel) -> PreTrainedModel:
    """``model`` itself, or a parameter-sharing copy whose last layer runs for [CLS] only (see module doc)."""
    try:
        fast = _build(model)
    except (AttributeError, TypeError, ValueError) as exc:
        log.info("first-token classifier not available for %s: %s", type(model).__name__, exc)
        return model
    difference = _logit_difference(model, fast)
    if difference > _CHECK_TOLERANCE:
        log.warning(
            "first-token classifier differs from the stock forward by %.2g; using the stock one", difference
        )
        return model
    return fast


def _build(model: Any) -> PreTrainedModel:
    config = model.config
    if config.model_type != "bert" or getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"model type {config.model_type!r} is not a BERT with absolute positions")
    if config.is_decoder or getattr(model.bert, "pooler", None) is None:
        raise ValueError("needs an encoder with a [CLS] pooler")
    last = model.bert.encoder.layer[-1]
    if not hasattr(last.attention.self, "scaling") or getattr(last, "crossattention", None) is not None:
        raise ValueError("unrecognised attention layer")
    # Copy the module tree, not the tensors: the copy reads the very parameters of the stock model.
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    fast: Any = copy.deepcopy(model, shared)
    fast.bert.encoder.layer[-1] = FirstTokenLayer(fast.bert.encoder.layer[-1])
    fast.eval()
    built: PreTrainedModel = fast
    return built


def _logit_difference(model: PreTrainedModel, fast: PreTrainedModel) -> float:
    """Largest |logit difference| on a padded batch of random tokens (padding exercises the mask)."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (2, 12), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.inference_mode():
        stock = model(input_ids=ids, attention_mask=mask).logits
        ours = fast(input_ids=ids, attention_mask=mask).logits
    return float((stock - ours).abs().max())
