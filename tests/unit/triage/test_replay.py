"""The replay's comparison and its turn-by-turn decisions on hand-built histories (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.unit.triage.fakes import FakeScorer
from tests.unit.triage.policies import pinned_policy
from triage.domain.language import MessageLanguage
from triage.domain.policy import Policy, parse_policy
from triage.replay import Flag, History, Turn, candidate_escalation, compare, replay

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def doubled_stress() -> Policy:
    """The pinned policy (stress weight 50, min 0.5, escalate at 50) with the stress weight doubled."""
    data: dict[str, Any] = pinned_policy().config.model_dump()
    data["version"] = "doubled"
    data["factors"]["stress"]["weight"] = 100
    return parse_policy(data, source="doubled")


def history(cid: str, *turns: tuple[str, float | None], **kw: Any) -> History:
    built = tuple(
        Turn(i + 1 + 100 * len(cid), text, "card_arrival", stress, T0 + timedelta(seconds=i))
        for i, (text, stress) in enumerate(turns)
    )
    return History(cid, T0, "standard", built, **kw)


def flag(priority: int, queue: str = "cards", message_id: int | None = 1) -> Flag:
    return Flag(message_id, priority, "P2", queue)


def test_the_comparison_counts_added_removed_and_changed_escalations_and_scores_them_on_the_verdicts():
    histories = [
        history("same", current=flag(60), verdict="correct"),
        history("priority", current=flag(60), verdict="wrong"),
        history("queue", current=flag(60), verdict=None),
        history("removed", current=flag(55), verdict="correct"),
        history("added"),
        history("never"),
    ]
    candidates = [flag(60), flag(75), flag(60, queue="general"), None, flag(52, queue="general"), None]
    report = compare(histories, candidates)
    assert (report.conversations, report.escalations_current, report.escalations_candidate) == (6, 4, 4)
    assert [e["conversation_id"] for e in report.added] == ["added"]
    assert report.added[0]["priority"] == 52 and report.added[0]["queue"] == "general"
    assert [(e["conversation_id"], e["verdict"]) for e in report.removed] == [("removed", "correct")]
    assert [(e["conversation_id"], e["current"], e["candidate"]) for e in report.priority_changed] == [
        ("priority", 60, 75)
    ]
    assert [(e["conversation_id"], e["candidate"]) for e in report.queue_changed] == [("queue", "general")]
    # verdicts: same (correct), priority (wrong), removed (correct); "queue" has none
    assert report.feedback_used == 3
    assert report.precision_current == round(2 / 3, 4)
    assert report.precision_candidate == 0.5  # same (correct) and priority (wrong); removed is not flagged
    assert report.recall_current == 1.0
    assert report.recall_candidate == 0.5  # of same and removed, only same


def test_missed_flags_count_as_positives_the_current_decisions_missed():
    histories = [
        history("right", current=flag(60), verdict="correct"),
        history("missed-caught", missed=True),
        history("missed-again", missed=True),
        history("calm"),
    ]
    report = compare(histories, [flag(60), flag(70), None, None])
    assert (report.feedback_used, report.missed_flags_used) == (3, 2)
    assert report.precision_current == 1.0
    assert report.precision_candidate == 1.0  # "right" and the caught missed flag
    assert report.recall_current == round(1 / 3, 4)  # of right and the two missed, only right
    assert report.recall_candidate == round(2 / 3, 4)  # right and missed-caught


def test_without_verdicts_precision_and_recall_are_unknown():
    report = compare([history("a", current=flag(60))], [flag(60)])
    assert report.feedback_used == 0
    assert (report.precision_current, report.precision_candidate) == (None, None)
    assert (report.recall_current, report.recall_candidate) == (None, None)


def test_doubling_the_stress_weight_escalates_a_first_angry_message_the_pinned_policy_lets_pass():
    angry = history("a", ("where is my card", 0.05), ("I am angry", 0.91))
    first = history("b", ("I am angry", 0.91))
    # pinned: a single turn of stress 0.91 is floor(50 * 0.91) = 45 < 50; no trend on one turn
    assert candidate_escalation(pinned_policy(), first, [0.91]) is None
    doubled = candidate_escalation(doubled_stress(), first, [0.91])
    assert doubled == Flag(first.turns[0].message_id, 91, "P1", "cards")
    # two turns: 45 + trend floor(40 * (0.91 - 0.05)) = 34 -> 79 under the pinned policy, at the second turn
    pinned = candidate_escalation(pinned_policy(), angry, [0.05, 0.91])
    assert pinned is not None and (pinned.message_id, pinned.priority) == (angry.turns[1].message_id, 79)


def test_only_the_first_escalating_turn_counts_and_an_unscored_turn_is_not_decided():
    h = history("a", ("I am angry", None), ("I am furious", 0.97), ("I am angry", 0.91))
    found = candidate_escalation(doubled_stress(), h, [None, 0.97, 0.91])
    assert found is not None and (found.message_id, found.priority) == (h.turns[1].message_id, 97)


def test_replay_rescores_the_stored_texts_with_the_candidate_model_in_one_batch():
    stored_calm = history("a", ("I am furious", 0.05), current=None)
    scorer = FakeScorer()
    report = replay([stored_calm], doubled_stress(), scorer)
    assert scorer.score_calls == [["I am furious"]]
    assert [e["priority"] for e in report.added] == [97]
    assert replay([stored_calm], doubled_stress()).added == []  # the stored stress: nothing


def test_explain_lists_the_top_words_that_change_for_escalations_both_agree_on_up_to_n():
    agreed = history("a", ("I am furious", 0.97), current=flag(97), top_words=("am",))
    same_words = history("b", ("I am angry", 0.91), current=flag(91), top_words=("angry",))
    later = history("c", ("I am furious", 0.97), current=flag(97), top_words=("I",))
    scorer = FakeScorer()
    report = replay([agreed, same_words, later], doubled_stress(), explain=2, explainer=scorer)
    assert scorer.explain_calls == ["I am furious", "I am angry"]  # two escalations, as asked
    assert report.explanation_changes == [
        {
            "conversation_id": "a",
            "message_id": agreed.turns[0].message_id,
            "current": ["am"],
            "candidate": ["furious"],
        }
    ]
    assert replay([agreed], doubled_stress()).explanation_changes == []  # off by default


def test_the_replay_reads_each_turns_stored_language_as_the_worker_did():
    """A Spanish turn's stress is set aside, and a short turn after it inherits Spanish (issue #21)."""
    spanish = MessageLanguage("es", 0.95)
    turns = (
        Turn(1, "Mi tarjeta no llega y nadie me contesta", "other_language", 1.0, T0, language=spanish),
        Turn(2, "sí", "affirm", 1.0, T0 + timedelta(seconds=1), language=MessageLanguage("es", None)),
    )
    policy = pinned_policy()
    assert candidate_escalation(policy, History("es", T0, "standard", turns), [1.0, 1.0]) is None
    english = tuple(Turn(t.message_id, t.text, t.intent, t.stress, t.at) for t in turns)  # before 0010
    assert candidate_escalation(policy, History("en", T0, "standard", english), [1.0, 1.0]) is not None
