"""The worker with the sentiment package's real scoring and Captum explanations.

The tiny random checkpoint (tests/unit/sentiment/tiny_model.py) runs the real EmotionModel code in
seconds; the shipped default model runs in the slow test below.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.unit.sentiment.tiny_model import write_clearline_json, write_tiny_model
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import parse_policy
from triage.redaction import redact_with_spans
from triage.storage.db import Escalation, Message
from triage.worker.loop import Worker
from triage.worker.sentiment_scorer import SentimentScorer

pytestmark = pytest.mark.slow


@pytest.fixture
def eager_policy(policy):
    """The shipped policy, but any stress escalates: the tiny model's scores are random."""
    data = policy.config.model_dump()
    data["escalate_at"] = 1
    data["factors"]["stress"] = {"weight": 100, "min": 0.0}
    return parse_policy(data)


def run_one_escalation(session_factory, source, scorer, policy, text, intent="card_not_working"):
    with source.engine.begin() as conn:
        write_events(conn, [("m1", user_event(text, intent=intent))])
    worker = Worker(session_factory, source, scorer, policy, redact_with_spans)
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["m1"]
    assert worker.explain_once() != []
    with session_factory() as s:
        return s.scalars(select(Message)).one(), s.scalars(select(Escalation)).one()


def check_explanation(message, escalation):
    record = escalation.explanations[0]
    assert record["message_id"] == message.id and record["text"] == message.text
    assert "4111" not in record["text"] and "<CARD_NUMBER>" in record["text"]
    for word in record["words"]:  # offsets point into the redacted text that is stored and shown
        assert record["text"][word["start"] : word["end"]] == word["word"]
    assert {"delta", "comprehensiveness", "sufficiency", "score_without_top"} <= record.keys()
    assert escalation.model_version == message.model_version


def test_tiny_real_model_scores_and_explains_on_redacted_text(
    tmp_path, session_factory, source, eager_policy
):
    model_dir = write_tiny_model(tmp_path / "tiny")
    write_clearline_json(model_dir)
    message, escalation = run_one_escalation(
        session_factory,
        source,
        SentimentScorer(str(model_dir)),
        eager_policy,
        "my card 4111 1111 1111 1111 is not working again, i am so angry",
    )
    assert 0.0 <= message.stress <= 1.0 and len(message.emotions) == 28
    check_explanation(message, escalation)


def test_shipped_model_escalates_a_stressed_customer_with_explanations(session_factory, source, policy):
    scorer = SentimentScorer()  # sentiment's default model (CLEARLINE_MODEL_DIR)
    calm = scorer.score(["thanks, that was helpful"])[0]
    assert calm.stress < 0.5
    message, escalation = run_one_escalation(
        session_factory,
        source,
        scorer,
        policy,
        "this is unacceptable, someone used my card 4111 1111 1111 1111 and I am furious and scared",
        intent="compromised_card",
    )
    assert message.stress >= 0.5 and message.flagged
    assert escalation.trigger == "policy" and any(f["factor"] == "stress" for f in escalation.factors)
    check_explanation(message, escalation)
    assert escalation.explanations[0]["top_words"]


def test_the_worker_scores_on_onnx_runtime_and_explains_on_torch(tmp_path, monkeypatch):
    """The explainer's own instance holds no ONNX Runtime session (explanations need torch alone)."""
    from triage.settings import CoreSettings
    from triage.worker import runner

    model_dir = write_tiny_model(tmp_path / "tiny")
    write_clearline_json(model_dir)
    monkeypatch.setenv("CLEARLINE_MODEL_DIR", str(model_dir))
    model = runner.load_model(CoreSettings(demo=True))
    assert model.error is None
    assert model.scorer._model.runtime == "onnx"
    assert model.explainer._model.runtime == "torch" and model.explainer._model.onnx is None


WARM_UP_CHECK = """
import sys, time
from triage.worker.explaining import warm_up
from triage.worker.sentiment_scorer import SentimentScorer
explainer = SentimentScorer(own_instance=True, runtime="torch")
before = sorted(m for m in ("captum", "sklearn") if m in sys.modules)
seconds = warm_up(explainer)
after = sorted(m for m in ("captum", "sklearn") if m in sys.modules)
print(before, after, seconds is not None)
"""


def test_warming_up_the_shipped_explainer_loads_what_its_first_explanation_needs():
    """A fresh process (this one has imported everything already): the imports that the first escalation
    would wait for happen in the warm-up."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WARM_UP_CHECK], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[] ['captum', 'sklearn'] True"


def test_a_serving_worker_warms_its_explainer_up():
    from triage.settings import CoreSettings
    from triage.worker.runner import serving_options

    options = serving_options(CoreSettings(drift_check_interval_s=120, demo=True))
    assert options.warm_up_explainer and options.drift_interval == 120
