"""Rasa NLU component: a message the NLU could not place that is clearly in another language becomes the
`other_language` intent, with its language as the `language` entity (rules in data/rules/languages.yml
answer it in that language and offer a person; responses in domain/languages.yml).

Used in config.yml as `components.language.LanguageFallback`, after FallbackClassifier. Only `nlu_fallback`
messages are looked at: a message the English NLU understood ("sí" read as affirm, a card question with a
Spanish greeting) keeps its intent. The detector is Clearline's own (triage/language.py, lingua with its
bundled models, loaded through clearline_files.py), so the bot and the worker judge a text alike: a short
or unclear text is not judged and stays `nlu_fallback`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clearline_files import load

OTHER_LANGUAGE_INTENT = "other_language"
LANGUAGE_ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageFallback(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # the languages the bot answers in; the detector's others fall back as before
        return {"bot_language": "en"}

    @staticmethod
    def required_packages() -> list[str]:
        return ["lingua"]

    def __init__(self, config: dict[str, Any]) -> None:
        self.bot_language = config["bot_language"]
        self._language = load("triage/language.py")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageFallback:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            language, confidence = self.other_language(message)
            if language is None:
                continue
            intent = {INTENT_NAME_KEY: OTHER_LANGUAGE_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
            message.data[INTENT] = intent
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, dict(intent))
            text = message.get(TEXT) or ""
            entity = {
                "entity": LANGUAGE_ENTITY,
                "value": language,
                "start": 0,
                "end": len(text),
                "confidence_entity": confidence,
                "extractor": type(self).__name__,
            }
            message.data.setdefault(ENTITIES, []).append(entity)
        return messages

    def other_language(self, message: Message) -> tuple[str | None, float]:
        """The message's language when the NLU fell back on it and it is clearly not the bot's."""
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME:
            return None, 0.0
        found = self._language.detect(message.get(TEXT))
        if found.language is None or found.language == self.bot_language:
            return None, 0.0
        return found.language, found.confidence
