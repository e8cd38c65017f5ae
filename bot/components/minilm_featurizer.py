"""Rasa dense featurizer: a MiniLM sentence embedding per message (see minilm_encoder.py).

Used in config.yml as `components.minilm_featurizer.MiniLMFeaturizer` (Rasa puts bot/ on the import path).
Only sentence features are produced: the classifier needs one vector per message.
The forward pass runs on ONNX Runtime by default; config `runtime: numpy` (or $CLEARLINE_MINILM_RUNTIME,
used by benchmarks to compare the two on one trained model) selects the NumPy pass. Both give the same
vectors to ~1e-6, so a model trained with one predicts the same with the other.
"""

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from threadpoolctl import ThreadpoolController

from components.minilm_encoder import FILES, RUNTIMES, MiniLMEncoder

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "data" / "models" / "minilm"


def model_dir_from(config: dict[str, Any]) -> Path:
    """Config `model_dir`, else $CLEARLINE_MINILM_DIR, else <repo>/data/models/minilm."""
    return Path(config.get("model_dir") or os.environ.get("CLEARLINE_MINILM_DIR") or DEFAULT_MODEL_DIR)


def runtime_from(config: dict[str, Any]) -> str:
    """Config `runtime`, else $CLEARLINE_MINILM_RUNTIME, else onnx."""
    return str(config.get("runtime") or os.environ.get("CLEARLINE_MINILM_RUNTIME") or "onnx")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model_dir": None,
            # onnx (ONNX Runtime) or numpy; None: $CLEARLINE_MINILM_RUNTIME, else onnx.
            "runtime": None,
            "batch_size": 64,
            # The unit vectors are multiplied by this so that a linear classifier with its default
            # regularisation (LogisticRegressionClassifier: C=1) can give them enough weight.
            "scale": 1.0,
            # Threads of the forward pass (ONNX Runtime's intra-op pool, or BLAS for numpy). One is ~4x
            # faster than OpenBLAS's default when the machine is busy (measured: 128 texts in 11.5 s vs
            # 44.8 s on 2 shared cores), and Rasa serves messages from one process.
            "blas_threads": 1,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["tokenizers", "safetensors", "onnxruntime", "onnx"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "MiniLMFeaturizer":
        return cls(config, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        threads = int(self._config["blas_threads"])
        self.encoder = MiniLMEncoder(model_dir_from(config), runtime=runtime_from(config), threads=threads)
        # One controller, made once: `threadpool_limits()` would scan every loaded library per message.
        self._threadpools = ThreadpoolController()

    def _featurize(self, messages: list[Message]) -> None:
        with_text = [message for message in messages if message.get(TEXT)]
        if not with_text:
            return
        texts = [message.get(TEXT) for message in with_text]
        if self.encoder.runtime == "numpy":
            with self._threadpools.limit(limits=int(self._config["blas_threads"]), user_api="blas"):
                vectors = self.encoder.encode(texts, self._config["batch_size"])
        else:  # ONNX Runtime sizes its own thread pool (blas_threads) and does not use BLAS
            vectors = self.encoder.encode(texts, self._config["batch_size"])
        vectors *= float(self._config["scale"])
        for message, vector in zip(with_text, vectors, strict=False):
            self.add_features_to_message(
                sequence=None, sentence=vector[np.newaxis, :], attribute=TEXT, message=message
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str:
        """The weights' content, so Rasa's training cache reuses this featurizer's output only for the same
        weights: its default fingerprint is the config alone, and `model_dir` (or $CLEARLINE_MINILM_DIR) may
        hold other weights under the same name (the intent-tuned layers, a hold-out experiment's)."""
        folder = model_dir_from(config)
        digest = hashlib.sha256()
        for name in FILES:
            path = folder / name
            digest.update(name.encode())
            if path.is_file():  # a missing file fails at load, with its own message
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
        return digest.hexdigest()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise ValueError("MiniLMFeaturizer: scale must be positive")
        if config.get("runtime") not in (None, *RUNTIMES):
            raise ValueError(f"MiniLMFeaturizer: runtime must be one of {', '.join(RUNTIMES)}")
