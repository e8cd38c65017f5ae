"""A tiny random BERT classifier with a tiny word-piece vocabulary, written to a directory (no hub)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from sentiment.goemotions import EKMAN_GROUPS, SENTIMENT_GROUPS

LABELS = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]
WORDS = [
    "the",
    "my",
    "card",
    "is",
    "was",
    "not",
    "working",
    "again",
    "i",
    "am",
    "so",
    "angry",
    "furious",
    "thank",
    "you",
    "thanks",
    "great",
    "help",
    "please",
    "where",
    "money",
    "refund",
    "late",
    "never",
    "terrible",
    "hate",
    "this",
    "service",
    "ok",
    "fine",
    "and",
    "to",
    "a",
    "it",
]
PIECES = ["##s", "##ing", "##ed", "##ly", "!", "?", ".", ",", "'", "-"]


def write_tiny_model(path: Path, seed: int = 0, max_position_embeddings: int = 64) -> Path:
    """Write a random 28-label BERT (2 layers, hidden 32) and its tokenizer to ``path``."""
    assert set(sum(EKMAN_GROUPS.values(), ())) == set(sum(SENTIMENT_GROUPS.values(), ())) == set(LABELS)
    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *PIECES]
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(str(path))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
        problem_type="multi_label_classification",
        initializer_range=0.5,  # large random weights, so outputs and attributions differ between texts
    )
    BertForSequenceClassification(config).eval().save_pretrained(str(path))
    return path


def write_clearline_json(path: Path, **overrides: object) -> None:
    data: dict[str, object] = {
        "version": "tiny@test",
        "labels": LABELS,
        "thresholds": dict.fromkeys(LABELS, 0.5),
        "stress": {"labels": ["anger", "annoyance", "sadness"], "scale": 1.0, "bias": 0.0, "threshold": 0.5},
        "max_length": 16,
    }
    data.update(overrides)
    (path / "clearline.json").write_text(json.dumps(data), encoding="utf-8")
