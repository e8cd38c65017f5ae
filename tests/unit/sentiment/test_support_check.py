"""The support-domain stress check (issue #21): the hand-labelled set, its parser, the report's arithmetic,
the `check-stress` command, and one run of the shipped model over the real set (structure only)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sentiment import cli
from sentiment.errors import DatasetError
from sentiment.model import load_model
from sentiment.support_check import (
    LABELS,
    MAX_EXAMPLES,
    Row,
    build_report,
    parse_rows,
    read_rows,
    run_check,
)

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "support_stress.tsv"
MODEL_DIR = REPO / "data" / "models" / "emotions"
runner = CliRunner()


@dataclass(frozen=True)
class Stub:
    stress: float
    flag: bool


def test_the_set_has_300_unique_rows_and_every_label() -> None:
    rows = read_rows(DATA)
    assert len(rows) >= 300
    texts = [row.text for row in rows]
    assert len({t.strip().lower() for t in texts}) == len(texts)
    counts = Counter(row.label for row in rows)
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= 40
    assert all(row.text == row.text.strip() and "\t" not in row.text for row in rows)
    comments = [line for line in DATA.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    assert "NOT training or tuning data" in "\n".join(comments)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cross\tthis is awful", "line 4: unknown label 'cross'"),
        ("angry this is awful", "line 4: no tab"),
        ("calm\t   ", "line 4: empty text"),
        ("calm\t", "line 4: empty text"),
        ("calm\ttwo\ttabs", "line 4: more than one tab"),
    ],
)
def test_parser_names_the_bad_line(line: str, message: str) -> None:
    lines = ["# a comment", "label\ttext", "calm\thello", line, "angry\tfine"]
    with pytest.raises(ValueError, match=message):
        parse_rows(lines, "set.tsv")


def test_parser_needs_the_header_and_skips_comments_and_blank_lines() -> None:
    with pytest.raises(DatasetError, match="line 2: expected the header"):
        parse_rows(["# only a comment", "calm\thello"])
    with pytest.raises(DatasetError, match="no header"):
        parse_rows(["# nothing else"])
    rows = parse_rows(["# c", "label\ttext", "", "calm\thello there", "anxious\tmy card is gone"])
    assert rows == [Row(4, "calm", "hello there"), Row(5, "anxious", "my card is gone")]


def test_report_arithmetic_on_a_hand_made_set() -> None:
    """Stressed: 4 rows, 3 flagged (tp 3, fn 1); calm: 3 rows, 1 flagged (fp 1, tn 2); annoyed: 2 rows,
    1 flagged, outside P/R. Precision 3/4, recall 3/4, F1 3/4."""
    labelled = [
        ("calm", "thanks", 0.1, False),
        ("calm", "where is my card", 0.4, True),
        ("calm", "how do i top up", 0.2, False),
        ("annoyed", "still waiting", 0.5, True),
        ("annoyed", "meh", 0.1, False),
        ("angry", "fix it now", 0.9, True),
        ("angry", "where is my money", 0.2, False),
        ("abusive", "you idiots", 0.8, True),
        ("anxious", "my card was stolen", 0.6, True),
    ]
    rows = [Row(i + 3, label, text) for i, (label, text, _, _) in enumerate(labelled)]
    scores = [Stub(stress, flag) for _, _, stress, flag in labelled]
    report = build_report(rows, scores, 0.3, "stub@1")
    assert report["n"] == 9
    assert report["precision"] == report["recall"] == report["f1"] == 0.75
    assert report["confusion"] == {"tp": 3, "fp": 1, "fn": 1, "tn": 2}
    assert report["by_label"]["calm"] == {"n": 3, "flagged": 1, "flag_rate": 0.3333, "mean_stress": 0.2333}
    assert report["by_label"]["annoyed"] == {"n": 2, "flagged": 1, "flag_rate": 0.5, "mean_stress": 0.3}
    assert report["by_label"]["angry"] == {"n": 2, "flagged": 1, "flag_rate": 0.5, "mean_stress": 0.55}
    assert report["false_positives"] == ["where is my card"]
    assert report["false_negatives"] == ["where is my money"]
    assert (report["threshold"], report["model_version"]) == (0.3, "stub@1")


def test_report_orders_and_caps_the_examples_and_handles_absent_labels() -> None:
    rows = [Row(i, "calm", f"calm {i}") for i in range(30)] + [Row(99, "anxious", "help")]
    scores = [Stub(0.3 + i / 100, True) for i in range(30)] + [Stub(0.1, False)]
    report = build_report(rows, scores, 0.3, "stub@1")
    assert report["false_positives"] == [f"calm {i}" for i in range(29, 29 - MAX_EXAMPLES, -1)]
    assert report["false_negatives"] == ["help"]
    assert report["precision"] == report["recall"] == report["f1"] == 0.0
    assert report["by_label"]["angry"] == {"n": 0, "flagged": 0, "flag_rate": None, "mean_stress": None}
    with pytest.raises(ValueError, match="2 rows but 1 scores"):
        build_report(rows[:2], scores[:1], 0.3, "stub@1")


def test_check_stress_command(plain_dir: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    cli.register(app, typer.Typer())
    data = tmp_path / "set.tsv"
    data.write_text("# tiny\nlabel\ttext\ncalm\tthanks\nangry\tfix it now\nannoyed\tmeh\n", encoding="utf-8")
    args = ["check-stress", "--data", str(data), "--model-dir", str(plain_dir)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 3 and report["model_version"].startswith(plain_dir.name + "@")
    human = runner.invoke(app, args)
    assert human.exit_code == 0 and "precision" in human.stdout
    missing = runner.invoke(app, ["check-stress", "--data", str(tmp_path / "none.tsv")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    data.write_text("label\ttext\nfurious\tfix it\n", encoding="utf-8")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2 and "line 2: unknown label 'furious'" in bad.stderr


@pytest.mark.slow
def test_the_shipped_model_over_the_real_set() -> None:
    """The structure, and that the model card's and README's figures are still what this model gives."""
    rows = read_rows(DATA)
    report = run_check(DATA, MODEL_DIR)
    assert report["n"] == len(rows)
    assert sum(figures["n"] for figures in report["by_label"].values()) == len(rows)
    assert 0.0 <= report["precision"] <= 1.0 and 0.0 <= report["recall"] <= 1.0
    assert len(report["false_positives"]) <= MAX_EXAMPLES and len(report["false_negatives"]) <= MAX_EXAMPLES
    assert report["model_version"] == load_model(MODEL_DIR).version
    # data/models/emotions/MODEL_CARD.md and README.md quote 1.00 / 0.624 for the shipped model
    assert report["precision"] == pytest.approx(1.0, abs=0.01)
    assert report["recall"] == pytest.approx(0.624, abs=0.01)
