"""Recalibration from feedback: the time split, the weighted Platt fit, the held-out figures, and the
candidate directory (same weights, new scaling and version, record, reference, model card) on a tiny
model."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sentiment.model import EmotionModel
from sentiment.recalibrate import (
    Example,
    NotEnoughFeedback,
    Prior,
    fit_weighted_platt,
    measure,
    recalibrate,
    time_split,
    write_candidate,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ANGRY = ["i am so angry", "this is terrible", "i hate this service", "never again", "my card is not working"]
CALM = ["thank you", "thanks great help", "ok fine", "where is my card please", "the refund is fine"]


def examples(n: int) -> list[Example]:
    """Alternating stressed and calm verdicts, one an hour (given newest first, to test the ordering)."""
    out = [
        Example((ANGRY if i % 2 == 0 else CALM)[i % 5], i % 2 == 0, T0 + timedelta(hours=i)) for i in range(n)
    ]
    return list(reversed(out))


def test_the_split_is_by_time_with_the_newest_held_out() -> None:
    fit, held_out = time_split(examples(10), 0.3)
    assert len(fit) == 7 and len(held_out) == 3
    assert max(e.at for e in fit) < min(e.at for e in held_out)
    assert [len(part) for part in time_split(examples(2), 0.3)] == [1, 1]
    with pytest.raises(NotEnoughFeedback, match="1 verdict"):
        time_split(examples(1), 0.3)
    with pytest.raises(ValueError):
        time_split(examples(10), 1.0)


def test_weighted_platt_recovers_a_known_scaling_and_respects_weights() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, 20000)
    truth = (rng.random(20000) < 1 / (1 + np.exp(-(2.0 * x - 1.0)))).astype(float)
    a, b = fit_weighted_platt(x, truth, np.ones_like(x))
    assert a == pytest.approx(2.0, abs=0.15) and b == pytest.approx(-1.0, abs=0.15)
    # examples of weight 0 do not count: the fit equals the fit on the others alone
    noise = rng.normal(0, 2, 500)
    with_ignored = fit_weighted_platt(
        np.concatenate([x, noise]),
        np.concatenate([truth, np.ones(500)]),
        np.concatenate([np.ones(20000), np.zeros(500)]),
    )
    assert with_ignored == pytest.approx((a, b), abs=1e-3)
    with pytest.raises(NotEnoughFeedback, match="both"):
        fit_weighted_platt(x[:10], np.ones(10), np.ones(10))


def test_held_out_figures_by_hand() -> None:
    prob = np.array([0.9, 0.8, 0.2, 0.6, 0.1])
    truth = np.array([1, 0, 1, 1, 0], dtype=float)
    got = measure(prob, truth, 0.5)  # flagged: 0.9 (tp), 0.8 (fp), 0.6 (tp); missed 0.2
    assert (got["n"], got["stressed"], got["precision"], got["recall"]) == (
        5,
        3,
        pytest.approx(0.6667),
        pytest.approx(0.6667),
    )
    assert measure(np.array([0.1]), np.array([0.0]), 0.5)["precision"] is None


@pytest.fixture
def base_dir(configured_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "base"
    shutil.copytree(configured_dir, directory)
    return directory


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_candidate_has_the_same_weights_a_new_scaling_and_its_record(
    base_dir: Path, tmp_path: Path
) -> None:
    model = EmotionModel(base_dir)
    prior = Prior(ANGRY + CALM, np.array([1.0] * 5 + [0.0] * 5), "tiny-dev")
    before_config = digest(base_dir / "clearline.json")
    result = recalibrate(model, examples(20), prior, holdout=0.25, prior_weight=10)
    assert result.fit["feedback_fit"] == 15 and result.fit["feedback_held_out"] == 5
    assert result.fit["feedback_share_of_weight"] == pytest.approx(15 / 25)
    assert result.version.startswith("tiny@test+cal.")
    assert set(result.before) == set(result.after) == {"n", "stressed", "ece", "precision", "recall", "f1"}
    out = write_candidate(base_dir, tmp_path / "candidate", result)
    config = json.loads((out / "clearline.json").read_text())
    assert config["version"] == result.version
    assert (config["stress"]["scale"], config["stress"]["bias"]) == (result.scale, result.bias)
    assert config["stress"]["threshold"] == 0.5 and config["stress"]["labels"] == [
        "anger",
        "annoyance",
        "sadness",
    ]
    assert config["recalibration"]["after"] == result.after
    assert config["reference"]["n"] == 10 and sum(config["reference"]["stress_counts"]) == 10
    assert digest(out / "model.safetensors") == digest(base_dir / "model.safetensors")
    assert digest(base_dir / "clearline.json") == before_config  # the base is untouched
    assert "Recalibration from feedback" in (out / "MODEL_CARD.md").read_text()
    candidate = EmotionModel(out)
    assert candidate.version == result.version
    _enc, logits = candidate.logits(["i am so angry"])
    raw = float(logits[0, candidate.stress_index].max())
    expected = 1 / (1 + np.exp(-(result.scale * raw + result.bias)))
    assert candidate.score(["i am so angry"])[0].stress == pytest.approx(expected, abs=1e-5)
    with pytest.raises(FileExistsError):
        write_candidate(base_dir, out, result)


def test_without_a_prior_the_fit_is_the_feedback_alone_and_the_stale_reference_goes(
    base_dir: Path, tmp_path: Path
) -> None:
    config = json.loads((base_dir / "clearline.json").read_text())
    config["reference"] = {"n": 1}
    (base_dir / "clearline.json").write_text(json.dumps(config))
    result = recalibrate(EmotionModel(base_dir), examples(12), None, holdout=0.25)
    assert result.fit["prior"] is None and result.fit["feedback_share_of_weight"] == 1.0
    out = write_candidate(base_dir, tmp_path / "candidate", result)
    assert "reference" not in json.loads((out / "clearline.json").read_text())
