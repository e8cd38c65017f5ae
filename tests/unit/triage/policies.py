"""The policy the triage tests compute their expectations with."""

from __future__ import annotations

from typing import Any

import yaml

from triage.domain.policy import Policy, parse_policy
from triage.settings import ROOT

SHIPPED_POLICY = ROOT / "triage" / "policy.yaml"


def shipped_policy_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED_POLICY.read_text())
    return data


def pinned_policy() -> Policy:
    """The shipped policy with pinned numbers, so tuning the shipped weights does not move the
    expected contributions (e.g. stress 0.91 -> +45) of the tests."""
    data = shipped_policy_data()
    data["version"] = "test-policy"
    data["escalate_at"] = 50
    data["factors"]["stress"] = {"weight": 50, "min": 0.5}
    data["factors"]["trend"] = {"window": 3, "weight": 40, "min_rise": 0.15}
    data["factors"]["tiers"] = {"standard": 0, "premium": 10, "vip": 15}
    data["factors"]["human_request"] = {"points": 60}
    data["factors"]["person_request"] = {"points": 60}
    signals = data["factors"]["signals"]
    signals["shouting"] = {"min_count": 2, "per_hit": 4, "max_points": 16}
    signals["punctuation"] = {"min_count": 1, "per_hit": 4, "max_points": 8}
    signals["angry_emoji"] = {"min_count": 1, "per_hit": 6, "max_points": 12}
    signals["profanity"] |= {"min_count": 1, "per_hit": 8, "max_points": 16}
    signals["leaving"] = {"min_count": 1, "per_hit": 15, "max_points": 15}
    signals["regulator"] = {"min_count": 1, "per_hit": 20, "max_points": 20}
    data["factors"]["topic"]["turns"] = 3
    return parse_policy(data, source="test policy")
