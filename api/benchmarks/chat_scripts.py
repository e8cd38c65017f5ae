"""The customers of ``clearline bench chat``: conversations of 1-8 messages, the mix a contact centre sees.

Most customers ask one to three FAQ questions (BANKING77 intents, answered by the bot from its domain);
some go through the provider's flows (the action server looks up their card or freezes it, forms ask for
an email and the card's last digits); some ask for a person; some get angry midway, which is what the
triage worker must catch. Texts are written for the bench, not taken from the datasets.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FAQ = [
    "how do I activate my card?",
    "What is the top-up limit?",
    "can I top up with apple pay",
    "what is the exchange rate for euros",
    "I would like to change my pin please",
    "is there a fee for topping up by card",
    "how do I verify my identity",
    "which currencies can I hold",
    "how long does a transfer to another bank take",
    "can I get a virtual card",
    "why was I charged a fee for withdrawing cash",
    "my top up is still pending",
    "where can I use this card",
    "how do I close my account",
]
FLOW_OPENERS = [
    "I'm still waiting on my card, has it been sent?",
    "How long does it take for a card to be delivered?",
    "I lost my card, please block it",
]
FLOW_ANSWERS = ["carla@example.net", "0005", "yes", "anna.smith@example.com", "4242"]
SMALL_TALK = ["hello", "hi there", "thanks, that helps", "ok", "thank you, bye"]
ANGRY = [
    "this is unacceptable, my card was stolen and nobody helps me",
    "I am so angry, the transfer never arrived and rent is due today",
    "someone took money from my account, I am scared and furious",
    "I'm terrified, there are payments I never made",
    "this is ridiculous, I have asked THREE times and still no answer",
]
HUMAN = ["I want to talk to a human", "let me speak to a real person please", "get me an agent"]


@dataclass(frozen=True)
class Script:
    kind: str  # faq | flow | human | angry
    messages: tuple[str, ...]


def conversation(rng: random.Random, angry_share: float = 0.1, human_share: float = 0.1) -> Script:
    """One customer's conversation: 1-8 messages; ``angry_share`` of them turn angry midway."""
    draw = rng.random()
    opening = [rng.choice(SMALL_TALK[:2])] if rng.random() < 0.3 else []
    if draw < angry_share:
        calm = rng.sample(FAQ, rng.randint(0, 2))
        rant = rng.sample(ANGRY, rng.randint(1, 3))
        return Script("angry", tuple([*opening, *calm, *rant])[:8])
    if draw < angry_share + human_share:
        return Script("human", tuple([*opening, *rng.sample(FAQ, rng.randint(0, 2)), rng.choice(HUMAN)]))
    if draw < angry_share + human_share + 0.25:
        answers = rng.sample(FLOW_ANSWERS, rng.randint(1, 3))
        return Script("flow", tuple([*opening, rng.choice(FLOW_OPENERS), *answers])[:8])
    questions = rng.sample(FAQ, rng.randint(1, 5))
    closing = [rng.choice(SMALL_TALK[2:])] if rng.random() < 0.4 else []
    return Script("faq", tuple([*opening, *questions, *closing])[:8])
