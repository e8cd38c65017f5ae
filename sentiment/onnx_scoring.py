"""Scoring on ONNX Runtime: the loaded classifier exported to ONNX in memory, run without torch's overhead.

The triage worker scores every customer message with a 2-layer model; for one short message torch spends
more time in its Python module calls than in the arithmetic (3.3 ms of CPU against 1.1 ms for the same
graph on ONNX Runtime, docs/customer-path.md). The export runs once when the model loads (under a second;
nothing is written to disk or downloaded) from the same parameters, with the batch and token axes dynamic,
and the exported logits are checked against torch's on probe texts before the session is used: a
checkpoint that does not export, or whose logits differ, is scored with torch as before.

Explanations keep torch, every number of them (``EmotionModel._forward``): integrated gradients need
gradients, and their deletion checks should come from the same runtime as the attributions.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

OPSET = 18
# One export at a time: the TorchScript exporter keeps process-wide state, and catch_warnings swaps the
# process's warning filters (models load in several worker threads: the explainer, a shadow, a promotion).
_EXPORT_LOCK = threading.Lock()
CHECK_TOLERANCE = 1e-4  # max |logit difference| against torch on the probe texts
PROBE_TEXTS = (
    "WHERE IS MY CARD?? I have been waiting for two weeks and nobody answers",
    "thanks",
    "I was charged twice for the same coffee and the app keeps saying the transfer is pending, "
    "this is the third time I write to you about it",
)


class _Logits(nn.Module):
    """The classifier as a function of (input_ids, attention_mask) -> logits, what the exporter traces."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


class OnnxLogits:
    """Logits of padded token ids from an ONNX Runtime session built from ``classifier``."""

    def __init__(self, classifier: nn.Module, example: dict[str, torch.Tensor], threads: int) -> None:
        import onnxruntime as ort

        module = _Logits(classifier).eval()
        buffer = io.BytesIO()
        with _EXPORT_LOCK, warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing, not about this graph
            torch.onnx.export(
                module,
                (example["input_ids"], example["attention_mask"]),
                buffer,  # type: ignore[arg-type]  # the TorchScript exporter writes to any binary file object
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "logits": {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # idle threads sleep instead of spinning: the worker's other threads (explanations) share the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: ORT warns about unused initializers of the export
        self.session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feeds = {
            "input_ids": input_ids.numpy().astype(np.int64, copy=False),
            "attention_mask": attention_mask.numpy().astype(np.int64, copy=False),
        }
        return torch.from_numpy(self.session.run(["logits"], feeds)[0])


def onnx_logits(classifier: nn.Module, tokenizer: Any, threads: int | None = None) -> OnnxLogits | None:
    """An ONNX Runtime scorer equal to ``classifier`` on the probe texts, or None (with the reason logged).
    ``threads``: default torch's (what the caller chose with ``torch.set_num_threads``; the worker's is 1)."""
    threads = threads or torch.get_num_threads()
    try:
        probe = tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
        scorer = OnnxLogits(classifier, probe, threads)
        reference = _Logits(classifier)
        # the padded probe batch, and one short row of it (another shape for the dynamic axes)
        shapes = [
            (probe["input_ids"], probe["attention_mask"]),
            (probe["input_ids"][1:2, :4], probe["attention_mask"][1:2, :4]),
        ]
        with torch.inference_mode():
            difference = max(
                float((scorer(ids, mask) - reference(ids, mask)).abs().max()) for ids, mask in shapes
            )
    except Exception as exc:  # noqa: BLE001 - any failure of an optional speed-up means: score with torch
        log.warning("scoring with torch: the model could not be run on ONNX Runtime (%s)", exc)
        return None
    if difference > CHECK_TOLERANCE:
        log.warning("scoring with torch: ONNX Runtime's logits differ from torch's by %.2g", difference)
        return None
    return scorer
