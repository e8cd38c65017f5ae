"""Train the Rasa model unless a model for exactly this content already exists.

    python -m nlu.train          # -> bot/models/bot-<hash>.tar.gz

The content hash covers the config, the domain, every training file (the generated BANKING77 file included),
the bot's own NLU components and the Rasa version, so a second start costs a hash instead of Rasa's own
fingerprint check (TensorFlow import, ~40 s). When something did change, `rasa train` still reuses its
component cache (bot/.rasa). CI trains this same model: almost all of the time goes into embedding the
examples, which fewer epochs would not shorten.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from nlu.build_data import DEFAULT_OUT, DatasetMissing, build, default_train_csv
from nlu.export_minilm import export as export_minilm
from nlu.rasa_env import RasaEnvironmentMissing, rasa_executable

ROOT = Path(__file__).resolve().parent.parent
BOT_DIR = ROOT / "bot"
CONFIG = "config.yml"
MODELS_DIR = BOT_DIR / "models"
PREFIX = "bot"
KEEP_MODELS = 3


def content_hash(config: Path, rasa_version: str) -> str:
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


def train(force: bool = False) -> Path:
    """Return the path of the model for the current content, training it first if needed."""
    config_name, models_dir, prefix = CONFIG, MODELS_DIR, PREFIX
    export_minilm()
    build(default_train_csv(), DEFAULT_OUT)
    config = BOT_DIR / config_name
    model = models_dir / f"{prefix}-{content_hash(config, installed_rasa_version())}.tar.gz"
    if model.is_file() and not force:
        os.utime(model)  # `rasa run` loads the newest model in bot/models
        print(f"model up to date: {model}")
        return model
    models_dir.mkdir(parents=True, exist_ok=True)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--force", action="store_true", help="train even if a model for this content exists")
    args = parser.parse_args(argv)
    try:
        train(force=args.force)
    except (DatasetMissing, RasaEnvironmentMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: rasa train failed with exit code {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
