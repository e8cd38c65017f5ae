"""nlu/intent_encoder.py: training examples, a short real tuning, its saved layers as the bot reads them."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from nlu import intent_encoder
from nlu.build_data import Example
from nlu.export_minilm import FROZEN_WEIGHTS, LAYERS_FILE, RECORD_FILE, export, package_dir, sha256_of
from nlu.intent_encoder import (
    NoExamples,
    TuningOptions,
    banking77_examples,
    embed,
    holdout_report,
    own_examples,
    save_layers,
    tune,
)

ROOT = Path(__file__).resolve().parents[3]


def write_nlu(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_own_examples_read_intents_without_entity_annotations(tmp_path: Path) -> None:
    folder = write_nlu(
        tmp_path,
        "a.yml",
        """version: "3.1"
nlu:
- intent: inform
  examples: |
    - my email is [ann@example.com](email)
    - card ending [4242]{"entity": "card_last_four"}
    - [NY][city_synonym] please
    -
- regex: email
  examples: |
    - [A-Za-z]+@[a-z]+
- intent: greet
  examples: |
    - hi
""",
    )
    write_nlu(folder, "empty.yml", "")
    write_nlu(folder, "rules.yml", 'version: "3.1"\nrules: []\n')
    assert own_examples(folder) == [
        Example("my email is ann@example.com", "inform"),
        Example("card ending 4242", "inform"),
        Example("NY please", "inform"),
        Example("hi", "greet"),
    ]


def test_the_bots_own_intents_are_read_from_its_nlu_files() -> None:
    examples = own_examples()
    intents = {example.intent for example in examples}
    assert {"greet", "request_human", "inform", "csat", "out_of_scope"} <= intents
    assert not any("](" in example.text or example.text.startswith("- ") for example in examples)


def test_an_empty_dataset_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "train.csv"
    empty.write_text("text,category\n", encoding="utf-8")
    with pytest.raises(NoExamples):
        banking77_examples(empty)
    with pytest.raises(NoExamples):
        tune([], TuningOptions(max_steps=1))
    assert intent_encoder.main(["--train-csv", str(empty)]) == 2
    assert "no training examples" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [
        ["--epochs", "0"],
        ["--threads", "0"],
        ["--max-steps", "-1"],
        ["--holdout", "1.5"],
        ["--holdout", "0"],
        ["--holdout", "0.2", "--out", str(ROOT / "data" / "models" / "intent-encoder")],
    ],
)
def test_bad_options_are_refused_before_training(
    tmp_path: Path, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "train.csv"
    csv.write_text("text,category\nwhere is my card,card_arrival\n", encoding="utf-8")
    shipped = ROOT / "data" / "models" / "intent-encoder" / LAYERS_FILE
    before = shipped.stat().st_mtime_ns
    out = [] if "--out" in arguments else ["--out", str(tmp_path / "out")]
    assert intent_encoder.main(["--train-csv", str(csv), *out, *arguments]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert shipped.stat().st_mtime_ns == before


def test_a_missing_dataset_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert intent_encoder.main(["--train-csv", str(tmp_path / "none.csv")]) == 2
    assert "none.csv" in capsys.readouterr().err


EXAMPLES = [
    *(
        Example(text, "card_arrival")
        for text in ("where is my card", "my card has not arrived", "card not here")
    ),
    *(
        Example(text, "top_up_failed")
        for text in ("top up failed", "my top-up did not work", "cannot top up")
    ),
    *(Example(text, "greet") for text in ("hi", "hello", "good morning")),
]


@pytest.mark.slow
def test_tuned_layers_saved_and_exported_give_the_tuned_embedding(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bot"))
    from components.minilm_encoder import MiniLMEncoder

    options = TuningOptions(max_steps=4, batch_size=4, learning_rate=1e-3, threads=1)
    tuned = tune(EXAMPLES, options)
    assert tuned.intents == ["card_arrival", "greet", "top_up_failed"]
    assert tuned.record["steps"] == 4
    assert tuned.record["base_sha256"] == sha256_of(package_dir() / "model.safetensors")
    layers = save_layers(tuned, tmp_path / "layers")
    stored = load_file(str(layers / LAYERS_FILE))
    assert not set(FROZEN_WEIGHTS) & set(stored)
    assert {value.dtype for value in stored.values()} == {np.dtype(np.float16)}
    assert json.loads((layers / RECORD_FILE).read_text())["options"]["max_steps"] == 4

    texts = ["where is my card?", "hello there", "my top-up failed twice"]
    exported = MiniLMEncoder(export(tmp_path / "minilm", layers), runtime="numpy").encode(texts)
    package = MiniLMEncoder(export(tmp_path / "plain", None), runtime="numpy").encode(texts)
    reference = embed(tuned.model, tuned.tokenizer, texts)
    # float16 storage rounds the weights; the tuning moved the vectors far more than that
    assert np.abs(exported - reference).max() < 5e-3
    assert np.abs(package - reference).max() > 5e-2


@pytest.mark.slow
def test_the_holdout_report_holds_out_banking77_only() -> None:
    banking77 = [example for example in EXAMPLES if example.intent != "greet"]
    banking77 += [Example(f"{example.text} please", example.intent) for example in banking77]
    own = [example for example in EXAMPLES if example.intent == "greet"]
    report = holdout_report(
        banking77, own, 0.34, 13, TuningOptions(max_steps=2, batch_size=4, threads=1), print
    )
    # 2 intents x 6 texts: 2 of each held out; the greetings always train
    assert (report["train"], report["test"]) == (8 + 3, 4)
    assert 0.0 <= report["package_accuracy"] <= 1.0 and 0.0 <= report["tuned_accuracy"] <= 1.0
    assert report["training"]["examples"] == 11
