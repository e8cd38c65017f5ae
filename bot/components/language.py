"""Rasa NLU component: a message clearly in another language becomes the `other_language` intent, with its
language as the `language` entity (rules in data/rules/languages.yml answer it in that language and offer a
person; responses in domain/languages.yml).

Used in config.yml as `components.language.LanguageFallback`, after FallbackClassifier. The English NLU reads
another language poorly: of 50 support messages in 7 languages (tests/data/languages.tsv), 21 fell back,
26 were read as out_of_scope, 1 as an unrelated banking intent, 1 as request_human (the model trained with
this component, 2026-12-06). So its intent is replaced whatever it was, except for ``keep_intents``
(request_human: a customer who asked for a person in any language gets the hand-off). The detector is
Clearline's own (triage/language.py, lingua with its bundled models, loaded through clearline_files.py), so
the bot and the worker judge a text alike: a short or unclear text ("sí", "oui", "hola I need help with my
card") is not judged and keeps the NLU's intent; English texts keep theirs.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
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
        # the language the bot speaks, and the NLU's intents that stand in any language
        return {"bot_language": "en", "keep_intents": ["request_human"]}

    @staticmethod
    def required_packages() -> list[str]:
        return ["lingua"]

    def __init__(self, config: dict[str, Any]) -> None:
        self.bot_language = config["bot_language"]
        self.keep_intents = frozenset(config["keep_intents"])
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
        """The message's language when it is clearly not the bot's and its intent is not one to keep."""
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) in self.keep_intents:
            return None, 0.0
        found = self._language.detect(message.get(TEXT))
        if found.language is None or found.language == self.bot_language:
            return None, 0.0
        return found.language, found.confidence
