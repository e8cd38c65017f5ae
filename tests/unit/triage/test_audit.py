"""System actors: declared in one place, and no user may carry one's name."""

from __future__ import annotations

import re

import pytest

from triage import audit
from triage.settings import ROOT


def test_every_system_actor_is_declared_in_the_audit_module() -> None:
    # the reserved usernames are the names of audit.SYSTEM_ACTORS: an actor made elsewhere would escape them
    made_elsewhere = [
        str(path.relative_to(ROOT))
        for package in ("api", "triage", "bot", "sentiment", "nlu")
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "triage" / "audit.py" and re.search(r"Actor\.system\(", path.read_text())
    ]
    assert made_elsewhere == []
    declared = re.findall(r'Actor\.system\("([^"]+)"\)', (ROOT / "triage" / "audit.py").read_text())
    assert sorted(declared) == sorted(actor.name for actor in audit.SYSTEM_ACTORS)


@pytest.mark.parametrize("name", ["worker", "Worker", "POLICY", "router", "sla", "bot"])
def test_system_actor_names_are_reserved_in_any_case(name: str) -> None:
    assert audit.is_reserved_username(name)


@pytest.mark.parametrize("name", ["alice", "workers", "sla-team", "robot"])
def test_other_names_are_free(name: str) -> None:
    assert not audit.is_reserved_username(name)
