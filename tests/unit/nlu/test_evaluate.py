from pathlib import Path

import pytest

from nlu.evaluate import ModelMissing, evaluate, latest_model, score


def test_score_counts_fallbacks_as_wrong() -> None:
    scores = score(["a", "a", "b", "b"], ["a", "nlu_fallback", "b", None])
    assert scores.n == 4
    assert scores.accuracy == 0.5
    # per-class F1 over the gold labels: a = 2/3, b = 2/3
    assert scores.macro_f1 == pytest.approx(2 / 3)


def test_score_refuses_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        score(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no rows"):
        score([], [])


def test_latest_model_and_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match=str(tmp_path)):
        latest_model(tmp_path)
    csv_path = tmp_path / "test.csv"
    csv_path.write_text("text,category\nhi,greet\n")
    with pytest.raises(ModelMissing, match="not found"):
        evaluate(csv_path, tmp_path / "missing.tar.gz")


def test_cli_reports_errors_with_exit_code_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, ["eval-nlu", "--csv", str(tmp_path / "missing.csv"), "--json"])
    assert result.exit_code == 2
    assert "no csv at" in result.output
