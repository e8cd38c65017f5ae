"""Predict intents for a csv of texts with a trained Rasa model. Runs INSIDE .venv-rasa (Python 3.10).

Called by ``clearline eval-nlu`` (nlu/evaluate.py), which computes the metrics on Python 3.11:

    .venv-rasa/bin/python nlu/rasa_predict.py MODEL.tar.gz TEXTS.csv PREDICTIONS.jsonl

Texts go through the model's NLU graph in batches (one graph run per batch rather than one per text).
Each output line is ``{"intent": name, "confidence": float}`` in input order.
"""

import csv
import json
import os
import sys
from typing import Any

BATCH_SIZE = 256
# The model may use the bot's own components (bot/components/), imported the way `rasa` does from bot/.
BOT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bot")


def predict(model_path: str, texts: list[str]) -> list[dict[str, Any]]:
    # Imported here so that ``--help``-style failures stay fast; rasa pulls in TensorFlow.
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY

    agent = Agent.load(model_path)
    processor = agent.processor
    if processor is None:
        raise SystemExit(f"error: no usable model in {model_path}")
    runner = processor.graph_runner
    target = processor.model_metadata.nlu_target
    tracker = DialogueStateTracker.from_events("eval-nlu", [])
    results: list[dict[str, Any]] = []
    for start in range(0, len(texts), BATCH_SIZE):
        batch = [UserMessage(text) for text in texts[start : start + BATCH_SIZE]]
        outputs = runner.run(
            inputs={PLACEHOLDER_MESSAGE: batch, PLACEHOLDER_TRACKER: tracker}, targets=[target]
        )[target]
        for parsed in outputs:
            intent = parsed.get(INTENT) or {}
            results.append(
                {
                    "intent": intent.get(INTENT_NAME_KEY),
                    "confidence": float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0),
                }
            )
    return results


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, csv_path, out_path = argv
    sys.path.insert(0, BOT_DIR)
    with open(csv_path, newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    predictions = predict(model_path, texts)
    with open(out_path, "w", encoding="utf-8") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
