"""Turn a trained checkpoint into the shipped model: fp16 weights, thresholds, stress calibration, metrics.

Everything fitted here is fitted on GoEmotions dev only, on the exported fp16 weights (the model that
ships), and written to ``clearline.json`` beside the weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sentiment.calibration import StressDefinition, apply_platt, fit_platt, raw_stress_logit
from sentiment.evaluate import evaluate_probs
from sentiment.goemotions import STRESS_LABELS, goemotions_dir, read_labels, read_tsv
from sentiment.metrics import best_f1_threshold, expected_calibration_error
from sentiment.train import predict_probs

CONFIG_NAME = "clearline.json"
SERVING_MAX_LENGTH = 128  # tokens; longer texts are truncated and reported as such


def weights_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.glob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def finalize(checkpoint: Path, model_dir: Path, log: Callable[[str], None] = print) -> str:
    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint))
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    model_dir.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    shipped = AutoModelForSequenceClassification.from_pretrained(str(model_dir), dtype=torch.float32)

    labels = [shipped.config.id2label[i] for i in range(shipped.config.num_labels)]
    data_dir = goemotions_dir()
    if read_labels(data_dir / "labels.txt") != labels:
        raise ValueError("checkpoint labels differ from GoEmotions labels.txt")
    dev = read_tsv(data_dir / "dev.tsv", len(labels))
    log(f"scoring {len(dev.texts)} dev texts")
    max_length = min(SERVING_MAX_LENGTH, int(getattr(shipped.config, "max_position_embeddings", 512)))
    probs = predict_probs(shipped, tokenizer, dev.texts, max_length)
    thresholds = {name: best_f1_threshold(probs[:, j], dev.targets[:, j]) for j, name in enumerate(labels)}

    stress_index = [labels.index(name) for name in STRESS_LABELS]
    stress_truth = dev.targets[:, stress_index].max(axis=1)
    raw_logit = raw_stress_logit(probs, stress_index)
    scale, bias = fit_platt(raw_logit, stress_truth)
    calibrated = apply_platt(raw_logit, scale, bias)
    stress_threshold = best_f1_threshold(calibrated, stress_truth)
    stress = StressDefinition(STRESS_LABELS, scale=scale, bias=bias, threshold=stress_threshold)

    config = {
        "version": f"clearline-emotions-minilm@{weights_digest(model_dir)}",
        "labels": labels,
        "thresholds": thresholds,
        "stress": stress.to_json(),
        "max_length": max_length,
    }
    metrics = evaluate_probs(probs, dev.targets, labels, np.array([thresholds[n] for n in labels]), stress)
    uncalibrated = raw_logit_ece(raw_logit, stress_truth)
    config["dev_metrics"] = {**metrics, "ece_uncalibrated": uncalibrated}
    history = checkpoint.parent / "history.json"
    if history.exists():
        config["training"] = json.loads(history.read_text(encoding="utf-8"))
    (model_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    report = json.dumps(config["dev_metrics"], indent=2)
    log(f"wrote {model_dir}: {config['version']}")
    return report


def raw_logit_ece(raw_logit: np.ndarray, truth: np.ndarray) -> float:
    """ECE of the uncalibrated stress score, to show what calibration bought."""
    return expected_calibration_error(1.0 / (1.0 + np.exp(-raw_logit)), truth)
