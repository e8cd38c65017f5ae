"""Tune all-MiniLM-L6-v2's encoder layers on the bot's intents, for the Rasa featurizer's sentence embedding.

The bot classifies intents with a logistic regression on MiniLM's mean-pooled, unit-length sentence
embedding (bot/config.yml). Tuning the encoder so that examples of one intent lie close together moves
that classifier's accuracy without changing what the bot runs: the same 6 layers, the same cost per message.
Training: the encoder's mean-pooled embedding against a cosine classifier (one learned unit vector per
intent, logits ``scale * cos``, cross-entropy), which shapes the very geometry the logistic regression
reads; the word-embedding matrix stays frozen (half the weights, and the tuned layers are stored without it).

    clearline train-intent-encoder                      # all of BANKING77 train + the bot's own intents
    clearline train-intent-encoder --holdout 0.2        # train on 80%, report the hold-out, save nothing
    clearline train-intent-encoder --holdout 0.2 --out DIR   # ... and save those layers (nlu/README.md)

The hold-out mode measures, on the same split as nlu/README.md (stratified, seed 13), a logistic regression
with the bot's regularisation (Rasa's C=1 on vectors scaled by config.yml's 3.16, i.e. C=10 on unit
vectors) on the package's embedding and on the tuned one, in the same run; the bot's own figure comes from
training it on the saved layers (`--out`, nlu/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from nlu.build_data import (
    DatasetMissing,
    Example,
    drop_conflicts,
    fetched_train_csv,
    read_examples,
    stratified_split,
)
from nlu.datasets import DatasetDownloadError
from nlu.export_minilm import (
    DEFAULT_LAYERS_DIR,
    FROZEN_WEIGHTS,
    LAYERS_FILE,
    RECORD_FILE,
    package_dir,
    sha256_of,
)

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

ROOT = Path(__file__).resolve().parent.parent
OWN_NLU_DIR = ROOT / "bot" / "data" / "nlu"
# Rasa's entity annotation in training examples: [text](entity), [text]{"entity": ...}, [text][synonym]
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")
# The regularisation the bot's classifier effectively has: C=1 on vectors scaled by config.yml's 3.16.
BOT_CLASSIFIER_C = 10.0
Log = Callable[[str], None]


class NoExamples(ValueError):
    """Nothing to train on (an empty csv, no intents in the NLU files)."""


@dataclass(frozen=True)
class TuningOptions:
    epochs: float = 3.0
    learning_rate: float = 1e-4
    head_learning_rate: float = 5e-3
    batch_size: int = 32
    # Logits are scale * cosine: unit vectors need a temperature for the softmax to become confident.
    scale: float = 20.0
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 64
    seed: int = 13
    threads: int = 2
    max_steps: int = 0  # 0: the epochs decide; tests use a few steps


@dataclass
class Tuned:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    intents: list[str]
    record: dict[str, Any] = field(default_factory=dict)


def own_examples(nlu_dir: Path = OWN_NLU_DIR) -> list[Example]:
    """The bot's own intents (greet, request_human, ...) from its Rasa NLU files, annotations removed."""
    examples: list[Example] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in content.get("nlu") or []:
            if not isinstance(item, dict) or "intent" not in item:
                continue  # regexes, lookups, synonyms
            for line in str(item.get("examples") or "").splitlines():
                text = _ANNOTATION.sub(r"\1", line.strip().removeprefix("-")).strip()
                if text:
                    examples.append(Example(text, str(item["intent"])))
    return examples


def banking77_examples(banking77_csv: Path) -> list[Example]:
    """BANKING77 train as the bot's data build reads it (conflicting texts dropped)."""
    examples = drop_conflicts(read_examples(banking77_csv))
    if not examples:
        raise NoExamples(f"no training examples in {banking77_csv}")
    return examples


def mean_pooled(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """sentence-transformers' pooling, as the bot's featurizer computes it: masked mean, unit length."""
    import torch.nn.functional as functional

    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def embed(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> np.ndarray:
    """Unit sentence vectors of ``texts`` (inference, batches of similar length)."""
    import torch

    model.eval()
    vectors = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            chunk = order[start : start + 128]
            batch = tokenizer(
                [texts[i] for i in chunk], padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            vectors[chunk] = mean_pooled(model, dict(batch)).numpy()
    return vectors


def tune(
    examples: Sequence[Example], options: TuningOptions, base: Path | None = None, log: Log = print
) -> Tuned:
    """Fine-tune the package's MiniLM on ``examples``; the returned record says how."""
    import torch
    import torch.nn.functional as functional
    from transformers import AutoModel, AutoTokenizer

    from sentiment.train import length_bucketed_batches, set_seed

    if not examples:
        raise NoExamples("no training examples")
    base = base or package_dir()
    set_seed(options.seed)
    torch.set_num_threads(options.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModel.from_pretrained(str(base))
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name not in FROZEN_WEIGHTS)
    intents = sorted({example.intent for example in examples})
    index = {intent: position for position, intent in enumerate(intents)}
    texts = [example.text for example in examples]
    targets = torch.tensor([index[example.intent] for example in examples])
    centres = torch.nn.Parameter(torch.randn(len(intents), model.config.hidden_size) * 0.01)
    encoder_params = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": options.learning_rate},
            {"params": [centres], "lr": options.head_learning_rate, "weight_decay": 0.0},
        ],
        weight_decay=options.weight_decay,
    )
    steps_per_epoch = math.ceil(len(texts) / options.batch_size)
    total = options.max_steps or max(1, round(steps_per_epoch * options.epochs))
    warmup = max(1, round(options.warmup_share * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: step / warmup if step < warmup else max(0.0, (total - step) / (total - warmup or 1)),
    )
    rng = random.Random(options.seed)  # noqa: S311 - reproducible batches, not a secret
    lengths = [len(text) for text in texts]
    started, step, loss_value = time.monotonic(), 0, float("nan")
    model.train()
    while step < total:
        for indices in length_bucketed_batches(lengths, options.batch_size, rng):
            if step >= total:
                break
            batch = tokenizer(
                [texts[i] for i in indices],
                padding=True,
                truncation=True,
                max_length=options.max_length,
                return_tensors="pt",
            )
            logits = options.scale * mean_pooled(model, dict(batch)) @ functional.normalize(centres, dim=-1).T
            loss = functional.cross_entropy(logits, targets[indices])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([*encoder_params, centres], 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            loss_value = float(loss.item())
            if step % 100 == 0 or step == total:
                rate = step / (time.monotonic() - started)
                log(f"step {step}/{total} loss {loss_value:.3f} ({rate:.2f} steps/s)")
    record = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_sha256": sha256_of(base / "model.safetensors"),
        "options": asdict(options),
        "examples": len(texts),
        "intents": len(intents),
        "steps": total,
        "final_loss": round(loss_value, 4),
        "training_seconds": round(time.monotonic() - started, 1),
    }
    return Tuned(model, tokenizer, intents, record)


def save_layers(tuned: Tuned, out: Path = DEFAULT_LAYERS_DIR) -> Path:
    """Write the tuned weights (float16, without the frozen word embeddings) and their record to ``out``."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    weights = {
        name: value.detach().to("cpu").half().contiguous()
        for name, value in tuned.model.state_dict().items()
        if name not in FROZEN_WEIGHTS and value.is_floating_point()
    }
    save_file(weights, str(out / LAYERS_FILE))
    (out / RECORD_FILE).write_text(json.dumps(tuned.record, indent=2) + "\n", encoding="utf-8")
    return out


def bot_classifier_accuracy(train: tuple[np.ndarray, list[str]], test: tuple[np.ndarray, list[str]]) -> float:
    """Accuracy of a logistic regression with the bot's regularisation on these vectors (Rasa's also weighs
    classes and sees the regex features: a close stand-in for comparing embeddings, not the bot's figure)."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=BOT_CLASSIFIER_C, max_iter=400)
    classifier.fit(train[0], train[1])
    return float(np.mean(classifier.predict(test[0]) == np.array(test[1])))


def holdout_report(
    banking77: Sequence[Example],
    own: Sequence[Example],
    holdout: float,
    split_seed: int,
    options: TuningOptions,
    log: Log = print,
    save_to: Path | None = None,
) -> dict[str, Any]:
    """Hold out a stratified share of BANKING77 (nlu/README.md's split), tune on the rest and the bot's
    own intents, and compare the bot's classifier on the package's and the tuned embedding there."""
    from transformers import AutoModel, AutoTokenizer

    train, test = stratified_split(list(banking77), holdout, split_seed)
    train = drop_conflicts([*train, *own])
    base = package_dir()
    plain = AutoModel.from_pretrained(str(base))
    plain_tokenizer = AutoTokenizer.from_pretrained(str(base))
    test_texts, test_intents = [e.text for e in test], [e.intent for e in test]
    train_intents = [e.intent for e in train]
    baseline = bot_classifier_accuracy(
        (embed(plain, plain_tokenizer, [e.text for e in train]), train_intents),
        (embed(plain, plain_tokenizer, test_texts), test_intents),
    )
    log(f"package embedding: hold-out accuracy {baseline:.4f}")
    tuned = tune(train, options, base, log)
    if save_to is not None:  # to measure the bot itself on the hold-out (nlu/README.md)
        tuned.record["holdout"] = {"share": holdout, "split_seed": split_seed}
        save_layers(tuned, save_to)
    accuracy = bot_classifier_accuracy(
        (embed(tuned.model, tuned.tokenizer, [e.text for e in train]), train_intents),
        (embed(tuned.model, tuned.tokenizer, test_texts), test_intents),
    )
    return {
        "train": len(train),
        "test": len(test),
        "split_seed": split_seed,
        "package_accuracy": round(baseline, 4),
        "tuned_accuracy": round(accuracy, 4),
        "training": tuned.record,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="clearline train-intent-encoder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--train-csv", type=Path, default=None, help="default: BANKING77 train")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"where the layers go (default {DEFAULT_LAYERS_DIR.relative_to(ROOT)}; with --holdout: none)",
    )
    parser.add_argument(
        "--holdout", type=float, default=None, help="measure on this share (0-1) instead of saving"
    )
    parser.add_argument("--split-seed", type=int, default=13)
    defaults = TuningOptions()
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    options = TuningOptions(
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        seed=args.seed,
        threads=args.threads,
        max_steps=args.max_steps,
    )
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if not 0 < options.epochs <= 100 or options.threads < 1 or options.max_steps < 0:
            raise ValueError("--epochs must be in (0, 100], --threads at least 1, --max-steps not negative")
        if args.holdout is not None and not 0 < args.holdout < 1:
            raise ValueError(f"--holdout must be between 0 and 1, got {args.holdout}")
        if args.holdout is not None and args.out is not None and args.out.resolve() == DEFAULT_LAYERS_DIR:
            raise ValueError(
                "--holdout layers are tuned on part of the data: --out must not be the shipped ones"
            )
        import torch

        torch.set_num_threads(options.threads)  # the hold-out's embeddings too, not only the tuning
        banking77 = banking77_examples(args.train_csv or fetched_train_csv())
        own = own_examples()
        if args.holdout is not None:
            report = holdout_report(banking77, own, args.holdout, args.split_seed, options, log, args.out)
            print(json.dumps(report, indent=2))
            return 0
        tuned = tune(drop_conflicts([*banking77, *own]), options, log=log)
        out = save_layers(tuned, args.out or DEFAULT_LAYERS_DIR)
    except (DatasetMissing, DatasetDownloadError, NoExamples, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"tuned encoder layers in {out}; `python -m nlu.train` exports them and retrains the bot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
