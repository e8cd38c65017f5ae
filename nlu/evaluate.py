"""Evaluate the trained Rasa NLU model on a BANKING77-format csv (``text,category``).

Prediction runs inside the Rasa environment (nlu/rasa_predict.py under .venv-rasa); the metrics are
computed here with scikit-learn.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score

from nlu.build_data import read_examples
from nlu.rasa_env import RasaEnvironmentMissing, rasa_python

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "bot" / "models"
PREDICT_SCRIPT = Path(__file__).resolve().parent / "rasa_predict.py"


class ModelMissing(FileNotFoundError):
    """No trained Rasa model where one was expected."""


@dataclass(frozen=True)
class NluScores:
    n: int
    accuracy: float
    macro_f1: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def latest_model(models_dir: Path = MODELS_DIR) -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        raise ModelMissing(f"no trained Rasa model in {models_dir}: run `python -m nlu.train` first")
    return models[-1]


def score(gold: list[str], predicted: list[str | None]) -> NluScores:
    """Accuracy and macro-F1 over the gold intents (a fallback or missing prediction counts as wrong)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("nothing to evaluate: the csv has no rows")
    labels = sorted(set(gold))
    answers = [name or "" for name in predicted]
    return NluScores(
        n=len(gold),
        accuracy=float(accuracy_score(gold, answers)),
        macro_f1=float(f1_score(gold, answers, labels=labels, average="macro", zero_division=0)),
    )


def predict(model: Path, csv_path: Path) -> list[str | None]:
    """Run the Rasa model over the csv's texts; returns the predicted intent per row, in order."""
    if not model.is_file():
        raise ModelMissing(f"Rasa model not found at {model}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "predictions.jsonl"
        completed = subprocess.run(
            [str(rasa_python()), str(PREDICT_SCRIPT), str(model), str(csv_path), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"Rasa prediction failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
            )
        lines = out.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["intent"] for line in lines]


def evaluate(csv_path: Path, model: Path | None = None) -> NluScores:
    examples = read_examples(csv_path)
    predicted = predict(model or latest_model(), csv_path)
    return score([example.intent for example in examples], predicted)


__all__ = ["ModelMissing", "NluScores", "RasaEnvironmentMissing", "evaluate", "latest_model", "score"]
