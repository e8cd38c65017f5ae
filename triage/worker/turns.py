"""What one customer turn does to a conversation row, and the policy's decision after it.

Shared by the worker's pipeline (on the stored row, inside its batch's transaction) and by the replay
(``triage.replay``, on a transient row it never adds to a session), so that a what-if run decides turn
by turn exactly as the worker did. No session, no clock, no I/O here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from triage.domain.language import MessageLanguage, conversation_language
from triage.domain.lifecycle import Effects
from triage.domain.policy import MAX_RECENT_INTENTS, Decision, Policy
from triage.storage.conversations import lifecycle, policy_input
from triage.storage.db import Conversation

FALLBACK_INTENT = "nlu_fallback"
# the bot's intent for a message in a language it does not speak (bot/components/language.py): the bot did
# not understand it either, so it counts as a fallback
OTHER_LANGUAGE_INTENT = "other_language"
HUMAN_INTENT = "request_human"


def customer_turn(
    conversation: Conversation,
    intent: str | None,
    stress: float | None,
    channel: str | None = None,
    language: MessageLanguage | None = None,
) -> Effects:
    """Apply one customer utterance to the row: back to the bot after a resolve, fallbacks, a request
    for a person, the stress trajectory, intents, the conversation's language (``language``: the
    message's, see ``triage.domain.language``). Returns the state machine's effects (its audit notes
    are the caller's to record)."""
    with lifecycle(conversation) as machine:
        back = machine.customer_returns()  # a resolved conversation is the bot's again
        if intent in (FALLBACK_INTENT, OTHER_LANGUAGE_INTENT):
            machine.note_fallback()
        if intent == HUMAN_INTENT:
            machine.request_person()
    if stress is not None:
        conversation.stress_trajectory = [*(conversation.stress_trajectory or []), round(stress, 4)]
        # as stored on the message (unrounded), like migration 0005's fill from the messages
        conversation.max_stress = max(stress, conversation.max_stress or 0.0)
    if channel:
        conversation.channel = channel
    if language is not None:
        conversation.language = conversation_language(conversation.language, language)
    if intent:
        conversation.latest_intent = intent
    # every customer turn, one without an intent too: the policy's topic looks back a number of turns
    conversation.recent_intents = [*(conversation.recent_intents or []), intent][-MAX_RECENT_INTENTS:]
    return back


def decide(
    policy: Policy,
    conversation: Conversation,
    text: str,
    now: datetime | None = None,
    *,
    form_failures: int = 0,
) -> Decision:
    """The policy's decision on the conversation after its latest customer ``text`` (redacted, as
    stored); ``now`` for the time spent (default: the current time, as the worker has it);
    ``form_failures``: the customer's failed attempts in the bot's form, when its message says so."""
    found = policy.detect(text)
    data = replace(policy_input(conversation, now, signals=found), form_failures=form_failures)
    return policy.evaluate(data)
