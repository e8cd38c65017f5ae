"""Settings of the sentiment package (environment, prefix ``CLEARLINE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class SentimentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARLINE_", env_file=".env", extra="ignore")

    # Any Hugging Face sequence-classification checkpoint directory; the default is the shipped model.
    model_dir: Path = REPO_ROOT / "data" / "models" / "emotions"
    # Flag threshold on the calibrated stress probability; None = the model's own (dev F1-optimal) one.
    stress_threshold: float | None = None
    # What scores run on: "onnx" (ONNX Runtime, the model exported at load; sentiment/onnx_scoring.py) or
    # "torch". Explanations always run on torch (they need gradients). Checked where a model loads
    # (EmotionModel: ModelNotLoaded), so a typo here does not break every other setting of the package.
    scoring_runtime: str = "onnx"
