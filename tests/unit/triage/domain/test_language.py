"""The language rules of the domain: a message's language, the conversation's, and whether the model
reads it. No detector, no database."""

from __future__ import annotations

from triage.domain.language import MessageLanguage, conversation_language, message_language, model_reads


def test_a_judged_message_keeps_its_own_language_and_confidence():
    found = message_language("es", 0.91, "en")
    assert found == MessageLanguage("es", 0.91) and not found.inherited
    assert conversation_language("en", found) == "es"  # a customer who switched has switched


def test_a_message_too_short_to_judge_takes_the_conversations_language():
    found = message_language(None, 0.0, "es")
    assert found == MessageLanguage("es", None) and found.inherited
    assert conversation_language("es", found) == "es"  # "sí" does not flip it


def test_a_message_with_no_language_in_a_conversation_without_one():
    found = message_language(None, 0.0, None)
    assert found == MessageLanguage(None, None) and not found.inherited
    assert conversation_language(None, found) is None


def test_the_model_reads_its_languages_and_unknown_text():
    assert model_reads("en", ["en"])
    assert model_reads(None, ["en"])
    assert not model_reads("es", ["en"])
    assert model_reads("es", ["en", "es"])
