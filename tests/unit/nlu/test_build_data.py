from pathlib import Path

import pytest
import yaml

from nlu.build_data import (
    DatasetMissing,
    Example,
    build,
    drop_conflicts,
    main,
    read_examples,
    stratified_split,
)


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["text,category", *(f'"{text}",{intent}' for text, intent in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_missing_dataset_names_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "train.csv"
    with pytest.raises(DatasetMissing, match=str(missing)):
        read_examples(missing)
    assert main(["--train-csv", str(missing), "--out", str(tmp_path / "out.yml")]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "out.yml").exists()


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sentence,label\nhi,greet\n")
    with pytest.raises(ValueError, match="text,category"):
        read_examples(path)


def test_rasa_file_keeps_intent_names_and_neutralises_markup(tmp_path: Path) -> None:
    csv_path = write_csv(
        tmp_path / "train.csv",
        [("Where is my card [urgent](now)?", "card_arrival"), ("It was reverted", "reverted_card_payment?")],
    )
    out = tmp_path / "generated" / "banking77.yml"
    assert build(csv_path, out) == (2, 0)
    data = yaml.safe_load(out.read_text())
    intents = {block["intent"]: block["examples"] for block in data["nlu"]}
    assert set(intents) == {"card_arrival", "reverted_card_payment?"}
    assert "- Where is my card (urgent)(now)?" in intents["card_arrival"]


def test_conflicting_and_duplicate_examples_are_dropped() -> None:
    examples = [
        Example("hi there", "a"),
        Example("hi there", "a"),
        Example("Same", "a"),
        Example("same", "b"),
    ]
    assert drop_conflicts(examples) == [Example("hi there", "a")]


def test_stratified_split_keeps_every_intent_on_both_sides() -> None:
    examples = [Example(f"text {i} {intent}", intent) for intent in ("a", "b", "c") for i in range(10)]
    train, test = stratified_split(examples, 0.2, seed=1)
    assert len(test) == 6 and len(train) == 24
    assert {e.intent for e in test} == {"a", "b", "c"}
    assert not set(train) & set(test)
    assert stratified_split(examples, 0.2, seed=1) == (train, test)
    with pytest.raises(ValueError):
        stratified_split(examples, 1.5, seed=1)


def test_holdout_writes_the_held_out_csv(tmp_path: Path) -> None:
    rows = [(f"text {i} {intent}", intent) for intent in ("a", "b") for i in range(5)]
    csv_path = write_csv(tmp_path / "train.csv", rows)
    held_out = tmp_path / "test.csv"
    assert build(csv_path, tmp_path / "train.yml", holdout=0.2, holdout_csv=held_out) == (8, 2)
    assert len(read_examples(held_out)) == 2
