"""The state machine is the only writer of a conversation's hand-off state: no product module outside
``triage/domain`` assigns those attributes, sets them through SQL ``values(...)`` or ``setattr`` with a
literal name, or builds a Conversation with them (the adapter copies them from the domain by name)."""

from __future__ import annotations

import ast
from pathlib import Path

from triage.storage.conversations import HANDLING_FIELDS

ROOT = Path(__file__).resolve().parents[4]
PRODUCT = ("triage", "api", "nlu", "sentiment", "bot")
DOMAIN = ROOT / "triage" / "domain"
# Writes the syntactic check cannot tell apart from a conversation's, each with why it is not one.
NOT_A_CONVERSATION = {
    # a canned reply's queue (canned_replies.queue): which queue's agents see the reply
    ("triage/services/console.py", "reply.queue"),
    # a rating's queue (csat_ratings.queue): the rated hand-off's queue, copied when it is rated
    ("triage/services/csat.py", "row.queue"),
}


def writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            # the attribute stored to (``request.state.user = ...`` stores ``user``, not ``state``)
            for stored in target.elts if isinstance(target, ast.Tuple | ast.List) else [target]:
                if isinstance(stored, ast.Attribute) and stored.attr in HANDLING_FIELDS:
                    found.append((node.lineno, ast.unparse(stored)))
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            keywords = [k.arg for k in node.keywords if k.arg in HANDLING_FIELDS]
            if keywords and (name.endswith(".values") or name == "Conversation"):
                found.append((node.lineno, f"{name}({', '.join(map(str, keywords))}=...)"))
            if name == "setattr" and len(node.args) > 1:
                attr = node.args[1]
                if isinstance(attr, ast.Constant) and attr.value in HANDLING_FIELDS:
                    found.append((node.lineno, f"setattr(..., {attr.value!r})"))
    return sorted(found)


def test_no_module_outside_the_domain_writes_handling_state() -> None:
    offenders = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            # benchmarks write a seeded history in bulk (not a product path; see api/benchmarks/seed.py)
            if DOMAIN in path.parents or "benchmarks" in path.relative_to(ROOT).parts:
                continue
            where = str(path.relative_to(ROOT))
            offenders += [
                f"{where}:{line} {what}"
                for line, what in writes(ast.parse(path.read_text()))
                if (where, what) not in NOT_A_CONVERSATION
            ]
    assert offenders == []


def test_the_check_sees_each_kind_of_write() -> None:
    sample = """
conversation.state = "queued"
request.state.user = None
conv.priority += 1
session.execute(update(Conversation).values(assigned_agent_id=3))
Conversation(id="x", queue="cards")
setattr(conversation, "sla_breached", True)
"""
    assert [what for _, what in writes(ast.parse(sample))] == [
        "conversation.state",
        "conv.priority",
        "update(Conversation).values(assigned_agent_id=...)",
        "Conversation(queue=...)",
        "setattr(..., 'sla_breached')",
    ]
