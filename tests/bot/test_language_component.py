"""The bot's language component (bot/components/language.py) on Rasa's own messages, and the responses it
leads to (bot/domain/languages.yml). Real detector; no server (that is in test_rasa_server.py)."""

import pytest
import yaml
from components.language import LANGUAGE_ENTITY, OTHER_LANGUAGE_INTENT, LanguageFallback
from rasa.shared.nlu.training_data.message import Message

from tests.bot.conftest import BOT_DIR
from tests.bot.test_domain import merged_domain


def parsed(text: str, intent: str = "nlu_fallback", confidence: float = 0.2) -> Message:
    """A message as it leaves FallbackClassifier."""
    top = {"name": intent, "confidence": confidence}
    return Message(data={"text": text, "intent": top, "intent_ranking": [dict(top)], "entities": []})


@pytest.fixture(scope="module")
def component() -> LanguageFallback:
    return LanguageFallback(LanguageFallback.get_default_config())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mi tarjeta no llega y nadie me contesta", "es"),
        ("Pourquoi mon virement est toujours en attente ?", "fr"),
        ("Meine Karte wurde gestohlen, bitte helfen Sie mir", "de"),
    ],
)
def test_a_fallback_in_another_language_becomes_other_language_with_its_entity(component, text, code):
    (message,) = component.process([parsed(text)])
    assert message.get("intent")["name"] == OTHER_LANGUAGE_INTENT
    assert message.get("intent_ranking")[0]["name"] == OTHER_LANGUAGE_INTENT
    assert message.get("intent_ranking")[1]["name"] == "nlu_fallback"  # what the NLU said, kept
    (entity,) = message.get("entities")
    assert entity["entity"] == LANGUAGE_ENTITY and entity["value"] == code
    assert (entity["start"], entity["end"]) == (0, len(text))


@pytest.mark.parametrize(
    "text",
    [
        "asdf qwer zxcv",  # gibberish: the English fallback as before
        "I need help with something odd",  # English
        "sí",  # too short to tell
        "",
    ],
)
def test_other_fallbacks_are_left_as_they_are(component, text):
    (message,) = component.process([parsed(text)])
    assert message.get("intent")["name"] == "nlu_fallback" and message.get("entities") == []


@pytest.mark.parametrize("intent", ["out_of_scope", "direct_debit_payment_not_recognised", "greet"])
def test_the_english_nlus_guess_at_another_language_is_replaced(component, intent):
    # what the English NLU made of Spanish, Italian and French support messages (out_of_scope mostly)
    (message,) = component.process([parsed("Mi tarjeta no llega y nadie me contesta", intent, 0.35)])
    assert message.get("intent")["name"] == OTHER_LANGUAGE_INTENT
    assert message.get("intent_ranking")[1]["name"] == intent


def test_a_request_for_a_person_stands_in_any_language(component):
    (message,) = component.process(
        [parsed("Je veux parler à quelqu'un, ma carte est bloquée", "request_human", 0.4)]
    )
    assert message.get("intent")["name"] == "request_human" and message.get("entities") == []


def test_an_english_message_keeps_its_intent(component):
    (message,) = component.process(
        [parsed("Where is my new card? It has been two weeks", "card_arrival", 0.3)]
    )
    assert message.get("intent")["name"] == "card_arrival" and message.get("entities") == []


def test_the_reply_exists_in_each_language_of_the_issue_with_the_hand_off_buttons():
    domain = merged_domain()
    assert OTHER_LANGUAGE_INTENT in domain["intents"]
    assert domain["slots"]["customer_language"]["mappings"] == [{"type": "from_entity", "entity": "language"}]
    variations = domain["responses"]["utter_other_language"]
    by_language = {
        (v.get("condition") or [{}])[0].get("value"): v for v in variations
    }  # None: the English default
    assert {"es", "fr", "de", None} <= set(by_language)
    assert "inglés" in by_language["es"]["text"] and "anglais" in by_language["fr"]["text"]
    assert "Englisch" in by_language["de"]["text"]
    for variation in variations:
        payloads = [button["payload"] for button in variation["buttons"]]
        assert payloads == ["/request_human", "/deny"]  # the hand-off's own intent, then no


def test_the_rules_answer_other_language_and_hand_off_on_yes():
    rules = yaml.safe_load((BOT_DIR / "data" / "rules" / "languages.yml").read_text())["rules"]
    steps = {rule["rule"]: rule["steps"] for rule in rules}
    first = next(s for s in steps.values() if s[0] == {"intent": OTHER_LANGUAGE_INTENT})
    assert first[1] == {"action": "utter_other_language"}
    accepted = [
        s for s in steps.values() if s[:2] == [{"action": "utter_other_language"}, {"intent": "affirm"}]
    ]
    assert accepted and accepted[0][2] == {"action": "action_handoff"}
