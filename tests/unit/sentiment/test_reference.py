"""The model's reference distribution: counted from scores, written into clearline.json beside what is
there, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentiment.reference import read_reference, reference_from_scores, stress_bin, write_reference
from sentiment.types import UtteranceScore


def scored(stress: float, labels: list[str]) -> UtteranceScore:
    return UtteranceScore("t", {}, labels, stress, stress >= 0.5, "m@1")


def test_bins_cover_zero_to_one_inclusive() -> None:
    assert [stress_bin(x) for x in (0.0, 0.009, 0.01, 0.5, 0.999, 1.0)] == [0, 0, 1, 50, 99, 99]


def test_reference_counts() -> None:
    ref = reference_from_scores([scored(0.05, ["neutral"]), scored(0.95, ["anger", "annoyance"])], "dev")
    assert ref["n"] == 2 and ref["flag_rate"] == 0.5
    assert ref["stress_counts"][5] == 1 and ref["stress_counts"][95] == 1 and sum(ref["stress_counts"]) == 2
    assert ref["label_counts"] == {"anger": 1, "annoyance": 1, "neutral": 1}
    with pytest.raises(ValueError):
        reference_from_scores([], "dev")


def test_write_keeps_the_rest_of_the_config_and_read_gives_it_back(tmp_path: Path) -> None:
    (tmp_path / "clearline.json").write_text(json.dumps({"version": "m@1", "stress": {"threshold": 0.3}}))
    assert read_reference(tmp_path) is None
    ref = reference_from_scores([scored(0.2, [])], "dev")
    write_reference(tmp_path, ref)
    config = json.loads((tmp_path / "clearline.json").read_text())
    assert config["version"] == "m@1" and config["stress"] == {"threshold": 0.3}
    assert read_reference(tmp_path) == ref
    assert read_reference(tmp_path / "absent") is None


def test_the_shipped_model_has_a_reference_from_its_dev_set() -> None:
    from sentiment.settings import SentimentSettings

    ref = read_reference(SentimentSettings().model_dir)
    assert ref is not None and ref["source"] == "goemotions/dev.tsv"
    assert sum(ref["stress_counts"]) == ref["n"] > 5000


def test_the_command_scores_a_file_into_a_copy_of_the_model(tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from api.cli import build_app
    from sentiment.settings import SentimentSettings

    model = tmp_path / "model"
    shutil.copytree(SentimentSettings().model_dir, model)
    texts = tmp_path / "texts.txt"
    texts.write_text("# a comment line\nwhere is my card?\nTHIS IS RIDICULOUS, refund me now\n\n")
    app = build_app(("sentiment.reference_cli",))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["reference-emotions", "--model-dir", str(model), *args])
        return result.exit_code, result.output

    code, output = run("--tsv", str(texts), "--json")
    assert code == 0, output
    printed = output[output.index("{") :]  # after transformers' progress bar, on the same stream here
    assert json.loads(printed)["n"] == 2
    assert (
        read_reference(model) is not None and read_reference(model)["source"] == f"{tmp_path.name}/texts.txt"
    )  # type: ignore[index]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    assert run("--tsv", str(tmp_path / "empty.txt")) == (2, f"error: {tmp_path / 'empty.txt'}: no texts\n")
    code, output = run("--tsv", str(tmp_path / "absent.txt"))
    assert code == 2 and "cannot read the texts" in output
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    code, output = run("--tsv", str(tmp_path / "binary.txt"))
    assert code == 2 and "cannot read the texts" in output
