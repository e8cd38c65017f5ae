"""Fine-tune a candidate on the agents' corrections: the base model trained a little further on the
verdicts' texts (a flag judged wrong teaches "calm", one judged right "stressed"), mixed with GoEmotions
train so that it does not forget the rest, then finalized like any model (thresholds and calibration on
GoEmotions dev, fp16 weights, a version from the weights).

Targets of a corrected text: the base model's own predicted labels, with every stress label cleared for
a calm verdict, and for a stressed verdict the base's most likely stress label set when none was
predicted. Only the stress side is corrected; the other labels are the base's (self-distillation), since a
verdict says nothing about them.

Measured on the newest verdicts (never trained on): the base's and the candidate's flag precision,
recall and ECE at each one's own threshold, and both models' GoEmotions dev figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sentiment.goemotions import LabelledTexts
from sentiment.model import EmotionModel
from sentiment.recalibrate import Example, measure, time_split

Log = Callable[[str], None]


@dataclass(frozen=True)
class RetrainConfig:
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 2e-5  # encoder: a small step away from the base
    head_learning_rate: float = 1e-4  # pooler + classifier
    weight_decay: float = 0.01
    replay_ratio: float = 4.0  # GoEmotions train texts per corrected text
    max_length: int = 64
    seed: int = 13
    holdout: float = 0.3
    threads: int | None = None


def corrected_targets(model: EmotionModel, examples: Sequence[Example]) -> np.ndarray:
    """(n, labels) multi-hot targets: the base's predicted labels, the stress side set by the verdict."""
    probs = model.probabilities([e.text for e in examples])
    targets = (probs >= model.threshold_vector).astype(np.float32)
    stress = model.stress_index
    for i, example in enumerate(examples):
        if not example.stressed:
            targets[i, stress] = 0.0
        elif not targets[i, stress].any():
            targets[i, stress[int(np.argmax(probs[i, stress]))]] = 1.0
    return targets


def replay_sample(data: LabelledTexts, n: int, seed: int) -> LabelledTexts:
    """``n`` texts of GoEmotions train, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not security
    chosen = sorted(rng.sample(range(len(data.texts)), min(n, len(data.texts))))
    return LabelledTexts([data.texts[i] for i in chosen], data.targets[chosen])


def data_digest(texts: Sequence[str], targets: np.ndarray) -> str:
    digest = hashlib.sha256()
    for text, row in zip(texts, targets, strict=True):
        digest.update(text.encode() + b"\0" + row.astype(np.uint8).tobytes())
    return digest.hexdigest()[:16]


def fine_tune(
    base_dir: Path, texts: list[str], targets: np.ndarray, config: RetrainConfig, out: Path, log: Log
) -> Path:
    """The base checkpoint trained ``config.epochs`` epochs on these texts; saved (fp32) to ``out``."""
    from sentiment.train import TrainConfig, collate, length_bucketed_batches, parameter_groups, set_seed

    set_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(base_dir), dtype=torch.float32)
    model.get_input_embeddings().requires_grad_(False)  # as the base was trained
    rates = TrainConfig(
        out_dir=out,
        backbone=base_dir,
        data_dir=base_dir,
        learning_rate=config.learning_rate,
        head_learning_rate=config.head_learning_rate,
        weight_decay=config.weight_decay,
    )
    optimizer = torch.optim.AdamW(parameter_groups(model, rates), lr=config.learning_rate)
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    rng = random.Random(config.seed)  # noqa: S311 - reproducible shuffling
    total = math.ceil(len(encoded) / config.batch_size) * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, (total - step) / total))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    y = torch.from_numpy(targets)
    started = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        losses = []
        for batch in length_bucketed_batches(lengths, config.batch_size, rng):
            loss = loss_fn(model(**collate(tokenizer, encoded, batch)).logits, y[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
        log(
            f"epoch {epoch + 1}: loss {sum(losses) / len(losses):.4f} ({time.perf_counter() - started:.0f} s)"
        )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def held_out_figures(model: EmotionModel, held_out: Sequence[Example]) -> dict[str, Any]:
    scores = model.score([e.text for e in held_out])
    prob = np.array([s.stress for s in scores])
    truth = np.array([e.stressed for e in held_out], dtype=np.float64)
    return measure(prob, truth, model.flag_threshold)


def card_section(report: dict[str, Any]) -> str:
    before, after = report["held_out"]["base"], report["held_out"]["candidate"]
    dev_b, dev_a = report["dev"]["base"], report["dev"]["candidate"]
    c = report["config"]

    def row(name: str, b: Any, a: Any) -> str:
        return f"| {name} | {'-' if b is None else b} | {'-' if a is None else a} |"

    return "\n".join(
        [
            f"## Retrained from feedback: `{report['candidate_version']}`",
            "",
            f"Fine-tuned from `{report['base_version']}` by `clearline retrain --from-feedback` on "
            f"{report['data']['corrected']} corrected texts (the oldest verdicts; flag wrong = calm, "
            f"flag right = stressed) and {report['data']['replayed']} GoEmotions train texts "
            f"(seed {c['seed']}), "
            f"{c['epochs']} epochs, batch {c['batch_size']}, encoder rate {c['learning_rate']}, head rate "
            f"{c['head_learning_rate']}, embeddings frozen; data digest {report['data']['digest']}. Then "
            "thresholds and the stress calibration refitted on GoEmotions dev, as for every model.",
            "",
            "| figure | base | candidate |",
            "|---|---|---|",
            row(f"held-out verdicts ({before['n']}): precision", before["precision"], after["precision"]),
            row("held-out verdicts: recall", before["recall"], after["recall"]),
            row("held-out verdicts: ECE", before["ece"], after["ece"]),
            row("GoEmotions dev 28-label macro-F1", dev_b.get("macro_f1"), dev_a.get("macro_f1")),
            row("GoEmotions dev stress F1", dev_b.get("stress_f1"), dev_a.get("stress_f1")),
            row("GoEmotions dev stress ECE", dev_b.get("ece"), dev_a.get("ece")),
            "",
        ]
    )


def retrain(
    base_dir: Path,
    out_dir: Path,
    examples: Sequence[Example],
    train_set: LabelledTexts,
    config: RetrainConfig,
    log: Log = print,
    reference_texts: Sequence[str] = (),
    reference_source: str = "goemotions/dev.tsv",
) -> dict[str, Any]:
    """Fine-tune, finalize into ``out_dir`` (a new directory) and measure; returns the report. With
    ``reference_texts``, the candidate's drift reference is counted on them."""
    from sentiment.finalize import finalize
    from sentiment.model import load_model
    from sentiment.reference import reference_from_scores, write_reference

    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} exists and is not empty")
    fit, held_out = time_split(examples, config.holdout)
    base = load_model(base_dir)
    corrected = corrected_targets(base, fit)
    replayed = replay_sample(train_set, round(config.replay_ratio * len(fit)), config.seed)
    texts = [e.text for e in fit] + replayed.texts
    targets = np.concatenate([corrected, replayed.targets]).astype(np.float32)
    work = out_dir.parent / f".{out_dir.name}-work"
    try:
        checkpoint = fine_tune(base_dir, texts, targets, config, work / "checkpoint", log)
        (work / "history.json").write_text(json.dumps({"config": asdict(config)}), encoding="utf-8")
        finalize(checkpoint, out_dir, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the fp32 checkpoint: out_dir holds the fp16 export
    candidate = EmotionModel(out_dir)
    base_config = json.loads((base_dir / "clearline.json").read_text(encoding="utf-8"))
    cand_config = json.loads((out_dir / "clearline.json").read_text(encoding="utf-8"))
    report: dict[str, Any] = {
        "candidate_version": candidate.version,
        "base_version": base.version,
        "path": str(out_dir.resolve()),
        "config": asdict(config),
        "data": {
            "corrected": len(fit),
            "corrected_stressed": sum(e.stressed for e in fit),
            "replayed": len(replayed.texts),
            "held_out": len(held_out),
            "held_out_from": held_out[0].at.isoformat(),
            "digest": data_digest(texts, targets),
        },
        "held_out": {
            "base": held_out_figures(base, held_out),
            "candidate": held_out_figures(candidate, held_out),
        },
        "dev": {"base": base_config.get("dev_metrics", {}), "candidate": cand_config.get("dev_metrics", {})},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    cand_config["retraining"] = report
    (out_dir / "clearline.json").write_text(json.dumps(cand_config, indent=2) + "\n", encoding="utf-8")
    if reference_texts:  # the drift reference, counted with the candidate's own scores
        write_reference(out_dir, reference_from_scores(candidate.score(reference_texts), reference_source))
    base_card = base_dir / "MODEL_CARD.md"
    text = base_card.read_text(encoding="utf-8") if base_card.exists() else f"# {base.version}\n"
    (out_dir / "MODEL_CARD.md").write_text(text + "\n" + card_section(report), encoding="utf-8")
    return report
