"""Rasa's process (Python 3.10, .venv-rasa) and Clearline's worker (Python 3.11) redact every text alike:
Rasa's tracker store loads the worker's very file (bot/clearline_files.py), with the same pinned
presidio-analyzer and phonenumbers; this checks that the two environments really agree, on the generated
corpora of every kind and on non-PII numbers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from triage.benchmarks.redaction_corpus import non_pii_corpus, phone_context_corpus, pii_corpus
from triage.redaction import default_redactor

pytestmark = [pytest.mark.rasa]

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
IN_RASA = """
import json, sys
sys.path.insert(0, "bot")
from clearline_files import load
redactor = load("triage/redaction.py").default_redactor()
for line in sys.stdin:
    result = redactor.redact_with_spans(json.loads(line))
    print(json.dumps([result.text, [span.as_dict() for span in result.spans]]))
"""


def test_rasa_and_the_worker_redact_alike() -> None:
    samples = pii_corpus() + phone_context_corpus() + non_pii_corpus(per_category=40)
    texts = [sample.text for sample in samples]
    texts += ["", "no numbers at all", "ünïcödé +49 30 901820 ✓", "<EMAIL> typed by a customer"]
    rasa = subprocess.run(
        [str(RASA_PYTHON), "-c", IN_RASA],
        input="\n".join(json.dumps(text) for text in texts) + "\n",
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=True,
    )  # fmt: skip
    in_rasa = [json.loads(line) for line in rasa.stdout.splitlines()]
    assert len(in_rasa) == len(texts)
    redactor = default_redactor()
    here = [[r.text, [s.as_dict() for s in r.spans]] for r in map(redactor.redact_with_spans, texts)]
    differing = [(text, a, b) for text, a, b in zip(texts, here, in_rasa, strict=True) if a != b]
    assert not differing, f"{len(differing)} of {len(texts)} texts differ, e.g. {differing[:3]}"
    assert sum(1 for _, spans in here if spans) > len(texts) // 2  # the corpus does contain PII
