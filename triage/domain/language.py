"""The language of a conversation and of its messages, and whether the emotion model can read it.

Pure rules over ISO 639-1 codes; the detection itself (lingua) is in ``triage.language``. A message the
detector could not judge (too short, ambiguous: "ok", "sí", "no") takes the conversation's language, so
one word never flips a Spanish conversation to Italian or back to English; a message it judged sets the
conversation's language from then on (a customer who switches language has switched).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class MessageLanguage:
    """The language a customer message is taken to be in.

    Attributes:
        language: ISO 639-1 code, or None when neither the message nor the conversation has one.
        confidence: the detector's confidence when it judged this message itself; None when the
            language was inherited from the conversation (or is unknown).
    """

    language: str | None
    confidence: float | None

    @property
    def inherited(self) -> bool:
        return self.language is not None and self.confidence is None


def message_language(
    detected: str | None, confidence: float, conversation_language: str | None
) -> MessageLanguage:
    """The message's language: what the detector found, else the conversation's."""
    if detected is not None:
        return MessageLanguage(detected, confidence)
    return MessageLanguage(conversation_language, None)


def conversation_language(current: str | None, message: MessageLanguage) -> str | None:
    """The conversation's language after a message: the message's when it was judged, else unchanged."""
    return message.language if message.confidence is not None else current


def model_reads(language: str | None, model_languages: Collection[str]) -> bool:
    """Whether a score of the emotion model on a text in ``language`` can be trusted: the model was
    trained on ``model_languages`` only. An unknown language counts as readable: almost every message
    the detector cannot judge is a short English one ("ok", "thanks", "where is my card")."""
    return language is None or language in model_languages
