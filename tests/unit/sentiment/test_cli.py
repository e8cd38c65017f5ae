from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sentiment import cli
from tests.unit.sentiment.tiny_model import LABELS, write_clearline_json, write_tiny_model

FIXTURE = Path(__file__).parent / "fixtures" / "four_rows.tsv"
runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    bench = typer.Typer()
    cli.register(app, bench)
    app.add_typer(bench, name="bench")
    return app


def test_score_one_text(app: typer.Typer, plain_dir: Path) -> None:
    result = runner.invoke(app, ["score", "my card is not working", "--model-dir", str(plain_dir)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert set(record) >= {"text", "emotions", "labels", "stress", "flag", "model"}
    assert list(record["emotions"]) == LABELS


def test_score_jsonl_reports_bad_lines_and_scores_the_rest(
    app: typer.Typer, plain_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b'my card\n{"text": "where is my refund"}\n\xff\xfe\n   \n{"text": 5}\nthanks\n')
    result = runner.invoke(app, ["score", "--jsonl", str(source), "--model-dir", str(plain_dir)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("text") for r in records] == ["my card", "where is my refund", None, None, None, "thanks"]
    assert [r["line"] for r in records if "error" in r] == [3, 4, 5]
    assert (
        "UTF-8" in records[2]["error"] and "empty" in records[3]["error"] and "got int" in records[4]["error"]
    )
    assert "3 line(s) could not be scored" in result.stderr


def test_score_needs_exactly_one_input(app: typer.Typer, plain_dir: Path) -> None:
    result = runner.invoke(app, ["score", "--model-dir", str(plain_dir)])
    assert result.exit_code == 2
    assert "either a TEXT argument or --jsonl" in result.stderr


def test_score_refuses_blank_text_and_missing_model(
    app: typer.Typer, plain_dir: Path, tmp_path: Path
) -> None:
    blank = runner.invoke(app, ["score", "  ", "--model-dir", str(plain_dir)])
    assert blank.exit_code == 2 and "empty" in blank.stderr
    missing = runner.invoke(app, ["score", "hi", "--model-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no config.json" in missing.stderr


def test_explain_json(app: typer.Typer, plain_dir: Path) -> None:
    text = "I am so angry, my card is not working!"
    result = runner.invoke(app, ["explain", text, "--json", "--steps", "8", "--model-dir", str(plain_dir)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["n_steps"] >= 8 and record["target"] == "stress"
    assert all(text[w["start"] : w["end"]] == w["word"] for w in record["words"])
    human = runner.invoke(app, ["explain", text, "--target", "anger", "--model-dir", str(plain_dir)])
    assert human.exit_code == 0 and "comprehensiveness" in human.stdout


def test_eval_with_hand_computable_metrics(app: typer.Typer, tmp_path: Path) -> None:
    """Thresholds 0 predict every label; stress = sigmoid(20) ~ 1 flags every row. Rows: anger |
    joy | anger+sadness | neutral. Per-label F1 = 2*pos/(n+pos) where pos>0: anger 2/3, joy, sadness and
    neutral 2/5 each, 24 labels 0 -> macro (2/3 + 6/5)/28. Ekman: anger 2/3, joy/sadness/neutral 2/5, 3
    groups 0 -> /7. Sentiment: negative 2/3, positive and neutral 2/5, ambiguous 0 -> /4. Stress rows 1 and
    3: precision 1/2, recall 1, F1 2/3, ECE |1 - 1/2| = 1/2."""
    model_dir = write_tiny_model(tmp_path / "m")
    write_clearline_json(
        model_dir,
        thresholds=dict.fromkeys(LABELS, 0.0),
        stress={"labels": ["anger", "annoyance", "sadness"], "scale": 0.0, "bias": 20.0, "threshold": 0.5},
    )
    result = runner.invoke(
        app, ["eval-emotions", "--tsv", str(FIXTURE), "--json", "--model-dir", str(model_dir)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 4
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 6 / 5) / 28, abs=1e-4)
    assert metrics["ekman_macro_f1"] == pytest.approx((2 / 3 + 6 / 5) / 7, abs=1e-4)
    assert metrics["sentiment_macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 4, abs=1e-4)
    assert (metrics["stress_precision"], metrics["stress_recall"]) == (0.5, 1.0)
    assert metrics["stress_f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["ece"] == pytest.approx(0.5, abs=1e-4)


def test_eval_cross_fits_its_thresholds_on_request(app: typer.Typer, configured_dir: Path) -> None:
    plain = runner.invoke(
        app, ["eval-emotions", "--tsv", str(FIXTURE), "--json", "--model-dir", str(configured_dir)]
    )
    assert plain.exit_code == 0, plain.output
    assert "macro_f1_cross_fitted" not in json.loads(plain.stdout)
    result = runner.invoke(
        app,
        ["eval-emotions", "--tsv", str(FIXTURE), "--json", "--cross-fit", "--model-dir", str(configured_dir)],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert 0.0 <= metrics["macro_f1_cross_fitted"] <= 1.0 and metrics["macro_f1_cross_fitted_sd"] >= 0.0


def test_eval_reports_a_malformed_file(app: typer.Typer, plain_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("fine\t2\tx\nbroken line\n", encoding="utf-8")
    result = runner.invoke(app, ["eval-emotions", "--tsv", str(bad), "--model-dir", str(plain_dir)])
    assert result.exit_code == 2
    assert "bad.tsv:2" in result.stderr
    missing = runner.invoke(
        app, ["eval-emotions", "--tsv", str(tmp_path / "no.tsv"), "--model-dir", str(plain_dir)]
    )
    assert missing.exit_code == 2 and "No such file" in missing.stderr


def test_train_emotions_passes_its_options_on(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentiment.train import TrainConfig

    seen: list[TrainConfig] = []

    def record(config: TrainConfig, log: object) -> Path:
        seen.append(config)
        return tmp_path / "checkpoint"

    monkeypatch.setattr("sentiment.train.train", record)
    monkeypatch.setattr(cli, "calibrate_emotions", lambda checkpoint, model_dir: None)
    args = ["train-emotions", "--out", str(tmp_path), "--layers", "4", "--head-learning-rate", "0.002"]
    teachers = (tmp_path / "a", tmp_path / "b")
    for teacher in teachers:
        teacher.mkdir()
    args += ["--positive-weight-power", "0.5", "--teacher", str(teachers[0]), "--teacher", str(teachers[1])]
    args += ["--distill-weight", "0.7", "--augment-copies", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (seen[0].layers, seen[0].head_learning_rate, seen[0].out_dir) == (4, 0.002, tmp_path)
    assert seen[0].positive_weight_power == 0.5
    assert seen[0].teachers == teachers
    assert (seen[0].distill_weight, seen[0].augment_copies) == (0.7, 2)
    runner.invoke(app, ["train-emotions", "--out", str(tmp_path)])
    assert (seen[1].teachers, seen[1].augment_copies) == ((), 0)  # no distillation unless asked
    wrong_options = (
        ["--positive-weight-power", "-1"],
        ["--distill-weight", "1.5"],
        ["--augment-copies", "-1"],
        ["--teacher", str(tmp_path / "no-such-model")],
        ["--teacher", str(teachers[0] / "file")],
        ["--augment-copies", "1"],  # without a teacher to label the copies
    )
    (teachers[0] / "file").write_text("not a model directory", encoding="utf-8")
    for wrong in wrong_options:
        negative = runner.invoke(app, ["train-emotions", "--out", str(tmp_path), *wrong])
        assert negative.exit_code == 2, wrong
    assert len(seen) == 2
