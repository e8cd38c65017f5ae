"""1,000 support-style utterances for the benchmark, generated deterministically from templates.

They imitate customers of a card-and-payments provider: calm questions, thanks, worry and anger, from
three words to about sixty, so batching, truncation and explanation latency see realistic variety.
"""

from __future__ import annotations

import random

_TOPICS = [
    "my card",
    "the refund",
    "my transfer",
    "the payment to my landlord",
    "my new card",
    "the top-up",
    "my account",
    "the direct debit",
    "the exchange rate",
    "my PIN",
    "the cash withdrawal",
    "the app",
]
_QUESTIONS = [
    "where is {t}?",
    "how long does {t} take?",
    "can you check {t} please?",
    "what happened to {t}?",
    "is there a fee for {t}?",
    "why was {t} declined?",
    "how do I change {t}?",
]
_CALM = [
    "Hi, {q}",
    "Hello there. {q}",
    "Quick question: {q}",
    "Good morning, {q} Thanks in advance.",
    "Could you help me? {q}",
]
_THANKS = [
    "Thanks, that solved it!",
    "Perfect, thank you so much for the quick help.",
    "Great, all sorted now.",
    "Thank you, you have been really helpful today.",
    "Cheers, that was easy.",
]
_ANGRY = [
    "This is ridiculous. {q} I have been waiting for two weeks!",
    "I am furious, {t} still does not work and nobody answers.",
    "Worst service ever. {q} Fix it NOW.",
    "Unbelievable. You blocked {t} again without telling me, I am so angry.",
    "I'm sick of this, {t} failed three times today and your bot keeps sending me in circles.",
]
_WORRIED = [
    "I'm really worried, {t} hasn't arrived and rent is due tomorrow.",
    "Please help, I think someone used {t} and I'm scared I lost my savings.",
    "I'm anxious about {t}, it says pending for days. {q}",
    "I feel awful, I sent {t} to the wrong person. {q}",
]
_SAD = [
    "I'm disappointed, {t} was supposed to be simple.",
    "Honestly this is sad, I trusted you with {t} and now I have nothing.",
]
_DETAIL = [
    "I already tried restarting the app and logging in again.",
    "The reference number is in my previous message.",
    "I am travelling abroad at the moment and only have this card with me.",
    "Your website says it should take one working day but it has been five.",
    "I called yesterday and was told someone would get back to me within hours.",
    "My employer pays my salary into this account, so I really need it to work.",
]


def support_utterances(n: int = 1000, seed: int = 7) -> list[str]:
    """``n`` varied utterances (about 40% calm, 15% thanks, 45% worried, angry or sad)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    kinds = [(_CALM, 40), (_THANKS, 15), (_ANGRY, 22), (_WORRIED, 15), (_SAD, 8)]
    population = [templates for templates, weight in kinds for _ in range(weight)]
    out: list[str] = []
    for _ in range(n):
        topic = rng.choice(_TOPICS)
        question = rng.choice(_QUESTIONS).format(t=topic)
        text = rng.choice(rng.choice(population)).format(t=topic, q=question)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):  # longer messages add details
            text += " " + rng.choice(_DETAIL)
        out.append(text[0].upper() + text[1:])
    return out
