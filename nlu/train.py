"""Train the Rasa model unless a model for exactly this content already exists.

    python -m nlu.train                    # -> bot/models/bot-<hash>.tar.gz
    python -m nlu.train --update-prebuilt  # ... and commit it as bot/prebuilt/bot-<hash>.tar.gz

The content hash covers the config, the domain, every training file (the generated BANKING77 file included,
so the dataset's content), the bot's own NLU components, the MiniLM weights they load and the Rasa version,
so a second start costs a hash instead of Rasa's own fingerprint check (TensorFlow import, ~40 s).

A first run on a fresh clone does not train either: the repository carries the model for its own inputs in
bot/prebuilt/ (~0.3 MB: the classifier's weights and the rules, no training text), which is copied when
its hash matches. Training (~5 min on 2 cores, almost all of it embedding 10k examples) happens only when
an input changed; a test fails while bot/prebuilt/ is behind the inputs, and `make prebuilt-model` fixes it.
When something did change, `rasa train` still reuses its component cache (bot/.rasa).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from nlu.build_data import DEFAULT_OUT, DatasetMissing, build, fetched_train_csv
from nlu.datasets import DatasetDownloadError
from nlu.export_minilm import NEEDED as MINILM_FILES
from nlu.export_minilm import LayersMismatch, sha256_of
from nlu.export_minilm import export as export_minilm
from nlu.rasa_env import RasaEnvironmentMissing, rasa_executable

ROOT = Path(__file__).resolve().parent.parent
BOT_DIR = ROOT / "bot"
CONFIG = "config.yml"
MODELS_DIR = BOT_DIR / "models"
PREBUILT_DIR = BOT_DIR / "prebuilt"
PREFIX = "bot"
KEEP_MODELS = 3


def content_hash(config: Path, rasa_version: str, encoder_dir: Path) -> str:
    digest = hashlib.sha256(rasa_version.encode())
    files = [
        config,
        *sorted((BOT_DIR / "domain").rglob("*.yml")),
        *sorted((BOT_DIR / "data").rglob("*.yml")),
        *sorted((BOT_DIR / "components").rglob("*.py")),
    ]
    for path in files:
        digest.update(str(path.relative_to(BOT_DIR)).encode())
        digest.update(_canonical(path))
    for name in MINILM_FILES:
        digest.update(name.encode())
        digest.update(sha256_of(encoder_dir / name).encode())
    return digest.hexdigest()[:16]


def _canonical(path: Path) -> bytes:
    """YAML by meaning (a comment or a re-indent does not retrain), anything else byte for byte."""
    if path.suffix == ".yml":
        return json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), sort_keys=True).encode()
    return path.read_bytes()


def installed_rasa_version() -> str:
    metadata = sorted(
        (rasa_executable("python").parent.parent / "lib").glob("python3*/site-packages/rasa-*.dist-info")
    )
    return metadata[-1].name if metadata else "unknown"


def prune(models_dir: Path, prefix: str, keep: Path) -> None:
    """Keep the newest few models of this kind so bot/models does not grow without bound."""
    models = sorted(
        models_dir.glob(f"{prefix}-*.tar.gz"), key=lambda path: path.stat().st_mtime, reverse=True
    )
    for old in [path for path in models if path != keep][KEEP_MODELS - 1 :]:
        old.unlink()


def current_model_name() -> str:
    """Export MiniLM, build the NLU data, and name the model those inputs make (``bot-<hash>.tar.gz``)."""
    encoder_dir = export_minilm()
    build(fetched_train_csv(), DEFAULT_OUT)
    return f"{PREFIX}-{content_hash(BOT_DIR / CONFIG, installed_rasa_version(), encoder_dir)}.tar.gz"


def train(force: bool = False) -> Path:
    """Return the path of the model for the current content: already there, committed, or trained now."""
    config_name, models_dir, prebuilt_dir, prefix = CONFIG, MODELS_DIR, PREBUILT_DIR, PREFIX
    model = models_dir / current_model_name()
    if model.is_file() and not force:
        os.utime(model)  # `rasa run` loads the newest model in bot/models
        print(f"model up to date: {model}")
        return model
    models_dir.mkdir(parents=True, exist_ok=True)
    prebuilt = prebuilt_dir / model.name
    if prebuilt.is_file() and not force:
        shutil.copyfile(prebuilt, model)
        prune(models_dir, prefix, keep=model)
        print(f"using the committed model for these inputs: {prebuilt.relative_to(prebuilt_dir.parent)}")
        return model
    started = time.monotonic()
    command = [
        str(rasa_executable("rasa")),
        "train",
        "--domain", "domain",
        "--data", "data",
        "--config", config_name,
        "--out", str(models_dir),
        "--fixed-model-name", model.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    subprocess.run(command, cwd=BOT_DIR, check=True)
    if not model.is_file():
        raise RuntimeError(f"rasa train finished but {model} is missing")
    prune(models_dir, prefix, keep=model)
    print(f"trained {model} in {time.monotonic() - started:.0f} s")
    return model


def update_prebuilt(model: Path) -> Path:
    """Make ``model`` the one committed model (the previous one is removed: git keeps the history)."""
    prebuilt_dir = PREBUILT_DIR
    prebuilt_dir.mkdir(parents=True, exist_ok=True)
    target = prebuilt_dir / model.name
    if not target.is_file():
        shutil.copyfile(model, target)
    for old in prebuilt_dir.glob(f"{PREFIX}-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--force", action="store_true", help="train even if a model for this content exists")
    parser.add_argument(
        "--update-prebuilt",
        action="store_true",
        help="also make this model the committed one in bot/prebuilt/ (then commit that folder)",
    )
    args = parser.parse_args(argv)
    try:
        model = train(force=args.force)
        if args.update_prebuilt:
            print(f"committed model: {update_prebuilt(model)} (git add bot/prebuilt)")
    except (DatasetMissing, DatasetDownloadError, RasaEnvironmentMissing, LayersMismatch) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: rasa train failed with exit code {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
