"""The whole training path on a tiny model and a tiny GoEmotions-format dataset: train, finalize, load."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from sentiment.evaluate import evaluate_file
from sentiment.finalize import finalize
from sentiment.model import EmotionModel
from sentiment.train import TrainConfig, length_bucketed_batches, train
from tests.unit.sentiment.tiny_model import LABELS, write_tiny_model

ROWS = [
    ("i am so angry , my card is not working again", "2"),
    ("this service is terrible , i hate it", "3,11"),
    ("thank you , great help", "15"),
    ("thanks , ok", "15,4"),
    ("where is my money", "27"),
    ("my refund is late again", "9"),
    ("never again , terrible", "10"),
    ("ok fine", "27"),
]


def _write_dataset(root: Path) -> Path:
    data = root / "goemotions"
    data.mkdir(parents=True)
    (data / "labels.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    rng = random.Random(0)
    train_rows = [rng.choice(ROWS) for _ in range(48)]
    (data / "train.tsv").write_text("".join(f"{t}\t{ids}\tid{i}\n" for i, (t, ids) in enumerate(train_rows)))
    (data / "dev.tsv").write_text("".join(f"{t}\t{ids}\td{i}\n" for i, (t, ids) in enumerate(ROWS * 2)))
    return data


def _tiny_run(out_dir: Path, backbone: Path, data: Path, epochs: int, **more: object) -> TrainConfig:
    return TrainConfig(
        out_dir=out_dir,
        backbone=backbone,
        data_dir=data,
        epochs=epochs,
        batch_size=8,
        max_length=16,
        learning_rate=1e-3,
        threads=1,
        **more,  # type: ignore[arg-type]
    )


def test_length_bucketed_batches_cover_every_row_once() -> None:
    lengths = [random.Random(1).randint(3, 60) for _ in range(1000)]
    batches = length_bucketed_batches(lengths, 32, random.Random(2))
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(len(b) <= 32 for b in batches)


def test_train_finalize_and_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_DATASETS_DIR", str(tmp_path / "datasets"))
    data = _write_dataset(tmp_path / "datasets")
    backbone = write_tiny_model(tmp_path / "backbone")
    config = _tiny_run(tmp_path / "run", backbone, data, epochs=2)
    lines: list[str] = []
    checkpoint = train(config, log=lines.append)
    assert checkpoint == tmp_path / "run" / "epoch-2"
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history["history"]] == [1, 2]

    model_dir = tmp_path / "model"
    report = json.loads(finalize(checkpoint, model_dir, log=lines.append))
    shipped = json.loads((model_dir / "clearline.json").read_text())
    assert shipped["version"].startswith("clearline-emotions-minilm@")
    assert set(shipped["thresholds"]) == set(LABELS)
    assert shipped["max_length"] == 64
    assert report["n"] == 16

    model = EmotionModel(model_dir)
    assert model.version == shipped["version"]
    assert model.stress.threshold == shipped["stress"]["threshold"]
    # Evaluating dev with the committed thresholds reproduces the figures written at finalize time.
    metrics = evaluate_file(model, data / "dev.tsv")
    for key in ("macro_f1", "ekman_macro_f1", "sentiment_macro_f1", "stress_f1", "ece"):
        assert metrics[key] == pytest.approx(report[key], abs=2e-3)


def test_head_gets_its_own_rate_and_norms_no_decay(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from sentiment.train import parameter_groups

    model = AutoModelForSequenceClassification.from_pretrained(str(write_tiny_model(tmp_path / "m")))
    model.get_input_embeddings().requires_grad_(False)
    config = TrainConfig(out_dir=tmp_path, backbone=tmp_path, learning_rate=1e-4, head_learning_rate=1e-3)
    groups = parameter_groups(model, config)
    named = {id(p): n for n, p in model.named_parameters()}
    by_name = {named[id(p)]: (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    assert by_name["classifier.weight"] == (1e-3, 0.01)
    assert by_name["bert.pooler.dense.bias"] == (1e-3, 0.0)
    assert by_name["bert.encoder.layer.0.attention.self.query.weight"] == (1e-4, 0.01)
    assert "bert.embeddings.word_embeddings.weight" not in by_name  # frozen


def test_build_model_keeps_the_first_layers_of_the_backbone(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from sentiment.train import build_model

    backbone = write_tiny_model(tmp_path / "backbone")
    full = AutoModelForSequenceClassification.from_pretrained(str(backbone))
    shallow = build_model(backbone, LABELS, layers=1)
    assert shallow.config.num_hidden_layers == 1
    assert len(shallow.bert.encoder.layer) == 1
    kept = shallow.bert.encoder.layer[0].output.dense.weight
    assert kept.equal(full.bert.encoder.layer[0].output.dense.weight)  # loaded, not re-initialised
    assert len(build_model(backbone, LABELS).bert.encoder.layer) == 2


@pytest.mark.parametrize("layers", [0, 3])
def test_build_model_refuses_a_layer_count_the_backbone_lacks(tmp_path: Path, layers: int) -> None:
    from sentiment.train import build_model

    with pytest.raises(ValueError, match="between 1 and 2"):
        build_model(write_tiny_model(tmp_path / "backbone"), LABELS, layers=layers)


def test_positive_weights_lean_on_rare_labels_and_power_zero_is_plain_bce() -> None:
    import numpy as np

    from sentiment.train import positive_weights

    targets = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0]], dtype=np.float32)
    assert positive_weights(targets, 0.0).tolist() == [1.0, 1.0, 1.0]
    # 1 negative per 3 positives, 3 per 1, and a label with no positives at all stays at 1
    assert positive_weights(targets, 1.0).tolist() == pytest.approx([1 / 3, 3.0, 1.0])
    assert positive_weights(targets, 0.5).tolist() == pytest.approx([(1 / 3) ** 0.5, 3**0.5, 1.0])


def test_training_continues_from_a_shipped_model_and_keeps_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    monkeypatch.setenv("CLEARLINE_DATASETS_DIR", str(tmp_path / "datasets"))
    data = _write_dataset(tmp_path / "datasets")
    first = _tiny_run(tmp_path / "run1", write_tiny_model(tmp_path / "backbone"), data, epochs=1)
    finalize(train(first, log=lambda _line: None), tmp_path / "model1", log=lambda _line: None)
    shipped = json.loads((tmp_path / "model1" / "clearline.json").read_text())

    # from the finalized model (fp16 on disk), its positives weighted
    weighted = {"positive_weight_power": 0.5, "max_steps": 1}
    second = _tiny_run(tmp_path / "run2", tmp_path / "model1", data, 1, **weighted)
    from sentiment.train import build_model

    start = build_model(second.backbone, LABELS)
    assert {parameter.dtype for parameter in start.parameters()} == {torch.float32}
    stored = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "model1"))
    # the earlier head is loaded, not a fresh one
    assert start.classifier.weight.equal(stored.classifier.weight.float())

    train(second, log=lambda _line: None)
    record = json.loads((tmp_path / "run2" / "history.json").read_text())
    assert record["continued_from"]["version"] == shipped["version"]
    assert record["continued_from"]["training"]["config"]["epochs"] == 1
    assert record["config"]["positive_weight_power"] == 0.5
    first_record = json.loads((tmp_path / "run1" / "history.json").read_text())
    assert "continued_from" not in first_record


def test_the_positive_weights_reach_the_loss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from sentiment.goemotions import read_tsv

    seen: list[torch.Tensor | None] = []

    class RecordingLoss(torch.nn.BCEWithLogitsLoss):
        def __init__(self, *args: object, pos_weight: torch.Tensor | None = None, **kwargs: object) -> None:
            super().__init__(*args, pos_weight=pos_weight, **kwargs)  # type: ignore[arg-type]
            seen.append(pos_weight)

    monkeypatch.setattr(torch.nn, "BCEWithLogitsLoss", RecordingLoss)
    data = _write_dataset(tmp_path / "datasets")
    backbone = write_tiny_model(tmp_path / "backbone")
    config = _tiny_run(tmp_path / "run", backbone, data, 1, positive_weight_power=1.0, max_steps=1)
    train(config, lambda _line: None)
    targets = read_tsv(data / "train.tsv", len(LABELS)).targets
    positives = targets.sum(axis=0)
    assert seen[0] is not None
    for label, weight in enumerate(seen[0].tolist()):
        expected = (len(targets) - positives[label]) / positives[label] if positives[label] else 1.0
        assert weight == pytest.approx(expected)
    assert max(seen[0].tolist()) > 1.0  # the rare labels weigh more


def test_a_label_positive_in_every_row_keeps_weight_one() -> None:
    import numpy as np

    from sentiment.train import positive_weights

    targets = np.array([[1, 0], [1, 1], [1, 0]], dtype=np.float32)
    assert positive_weights(targets, 0.5).tolist() == pytest.approx([1.0, 2**0.5])


def test_continuing_a_classifier_of_other_labels_is_refused(tmp_path: Path) -> None:
    from sentiment.train import build_model

    backbone = write_tiny_model(tmp_path / "backbone")
    with pytest.raises(ValueError, match="other labels"):
        build_model(backbone, list(reversed(LABELS)))


def test_teacher_probabilities_are_the_teachers_average(tmp_path: Path) -> None:
    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentiment.train import predict_probs, teacher_probabilities

    teachers = (write_tiny_model(tmp_path / "t0", seed=0), write_tiny_model(tmp_path / "t1", seed=1))
    texts = [text for text, _ in ROWS]
    each = [
        predict_probs(
            AutoModelForSequenceClassification.from_pretrained(str(t)),
            AutoTokenizer.from_pretrained(str(t)),
            texts,
            16,
        )
        for t in teachers
    ]
    assert not np.allclose(each[0], each[1])  # two different teachers, so the average is not either one
    averaged = teacher_probabilities(teachers, LABELS, texts, 16, log=lambda _line: None)
    assert averaged.shape == (len(texts), len(LABELS))
    assert np.allclose(averaged, (each[0] + each[1]) / 2, atol=1e-6)


def test_a_teacher_of_other_labels_is_refused(tmp_path: Path) -> None:
    from sentiment.train import teacher_probabilities

    teacher = write_tiny_model(tmp_path / "teacher")
    with pytest.raises(ValueError, match="not the 28 labels"):
        teacher_probabilities((teacher,), list(reversed(LABELS)), ["hello"], 16, log=lambda _line: None)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_distill_weight_outside_zero_to_one_is_refused(tmp_path: Path, weight: float) -> None:
    data = _write_dataset(tmp_path / "datasets")
    config = _tiny_run(
        tmp_path / "run", write_tiny_model(tmp_path / "backbone"), data, 1, distill_weight=weight
    )
    with pytest.raises(ValueError, match="distill_weight"):
        train(config, lambda _line: None)
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_distillation_pulls_the_student_towards_its_teacher(tmp_path: Path) -> None:
    """With the whole loss on the teacher, the student's probabilities move to the teacher's; the labels alone
    (weight 0) move them less. The run's record names the teacher."""
    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentiment.goemotions import read_tsv
    from sentiment.train import predict_probs, teacher_probabilities

    data = _write_dataset(tmp_path / "datasets")
    texts = read_tsv(data / "train.tsv", len(LABELS)).texts
    teacher = write_tiny_model(tmp_path / "teacher", seed=7)
    wanted = teacher_probabilities((teacher,), LABELS, texts, 16, log=lambda _line: None)

    def distance_after(weight: float) -> float:
        run = tmp_path / f"run-{weight}"
        backbone = write_tiny_model(tmp_path / "backbone")
        config = _tiny_run(
            run, backbone, data, 5, teachers=(teacher,), distill_weight=weight, head_learning_rate=1e-2
        )
        checkpoint = train(config, lambda _line: None)
        student = AutoModelForSequenceClassification.from_pretrained(str(checkpoint))
        probs = predict_probs(student, AutoTokenizer.from_pretrained(str(checkpoint)), texts, 16)
        assert json.loads((run / "history.json").read_text())["config"]["teachers"] == [str(teacher)]
        return float(np.abs(probs - wanted).mean())

    before = AutoModelForSequenceClassification.from_pretrained(str(write_tiny_model(tmp_path / "start")))
    start = float(
        np.abs(
            predict_probs(before, AutoTokenizer.from_pretrained(str(tmp_path / "start")), texts, 16) - wanted
        ).mean()
    )
    distilled, labels_only = distance_after(1.0), distance_after(0.0)
    assert distilled < start / 2
    assert distilled < labels_only / 2


def test_augmented_copies_drop_words_reproducibly_and_keep_one() -> None:
    from sentiment.train import augmented, dropped_words

    texts = ["my card was charged twice and nobody answers", "help", ""]
    first, again = augmented(texts, 2, 0.5, seed=3), augmented(texts, 2, 0.5, seed=3)
    assert first == again and len(first) == 6
    assert first != augmented(texts, 2, 0.5, seed=4)
    for original, copy in zip(texts * 2, first, strict=True):
        words = copy.split()
        assert set(words) <= set(original.split())  # only drops, never adds or changes a word
        assert bool(words) == bool(original.split())  # a text with words keeps at least one
    assert len(first[0].split()) < len(texts[0].split())
    import random

    assert dropped_words("one two three", 1.0, random.Random(0)) in {"one", "two", "three"}


def test_augmented_rows_are_labelled_by_the_teachers_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import sentiment.train as training
    from sentiment.goemotions import read_tsv

    label_targets: list[torch.Tensor] = []

    class RecordingLoss(torch.nn.BCEWithLogitsLoss):
        def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            label_targets.append(target.detach().clone())
            return super().forward(logits, target)

    monkeypatch.setattr(torch.nn, "BCEWithLogitsLoss", RecordingLoss)
    taught: list[int] = []
    real_probabilities = training.teacher_probabilities

    def counting(teachers: tuple[Path, ...], labels: list[str], texts: list[str], *rest: object) -> object:
        taught.append(len(texts))
        return real_probabilities(teachers, labels, texts, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(training, "teacher_probabilities", counting)
    data = _write_dataset(tmp_path / "datasets")
    rows = len(read_tsv(data / "train.tsv", len(LABELS)).texts)
    teacher = write_tiny_model(tmp_path / "teacher", seed=7)
    config = _tiny_run(
        tmp_path / "run",
        write_tiny_model(tmp_path / "backbone"),
        data,
        1,
        teachers=(teacher,),
        augment_copies=2,
    )
    lines: list[str] = []
    train(config, lines.append)
    assert taught == [3 * rows]  # the teachers label the originals and both copies
    assert any(f"train rows {3 * rows}," in line for line in lines)
    seen = torch.cat(label_targets)  # one epoch: every row once
    assert len(seen) == 3 * rows
    fractional = ((seen > 0) & (seen < 1)).any(dim=1)
    assert int(fractional.sum()) == 2 * rows  # the copies' "labels" are the teacher's probabilities
    texts = read_tsv(data / "train.tsv", len(LABELS)).texts
    copies = training.augmented(texts, 2, config.word_dropout, config.seed)
    expected = torch.from_numpy(real_probabilities((teacher,), LABELS, copies, 16, lambda _line: None))
    # each copy's row holds the teacher's probabilities for that copy (not for an original, or another
    # row): the nearest expected row is that one, up to the float noise of other batch paddings (~1e-3
    # with the tiny model's large weights; different rows lie 0.4 and more apart)
    nearest = torch.cdist(seen[fractional], expected).min(dim=1)
    assert nearest.values.max() < 1e-2
    assert sorted(nearest.indices.tolist()) == sorted(
        torch.cdist(expected, expected).min(dim=1).indices.tolist()
    )
    assert set(seen[~fractional].unique().tolist()) <= {0.0, 1.0}  # the originals keep their labels


def test_augmenting_without_a_teacher_is_refused(tmp_path: Path) -> None:
    data = _write_dataset(tmp_path / "datasets")
    config = _tiny_run(tmp_path / "run", write_tiny_model(tmp_path / "backbone"), data, 1, augment_copies=1)
    with pytest.raises(ValueError, match="teachers"):
        train(config, lambda _line: None)
