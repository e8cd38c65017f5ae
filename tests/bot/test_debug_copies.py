"""Rasa's debug-log deep copies (bot/debug_copies.py, patch ``debug_only_copies``): made only while the
module's debug logs are on, through structlog as Rasa configures it."""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
import types
from collections.abc import Iterator
from typing import Any

import debug_copies
import pytest
import rasa.core.policies.rule_policy
import rasa.core.processor
import rasa_patches
import structlog
from debug_copies import DebugOnlyDeepcopy, deepcopies_only_for_debug_logs
from rasa.core.actions.action import ActionListen
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.log_utils import configure_structlog

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
slots:
  card_status:
    type: text
    mappings: [{type: custom}]
"""
)


@pytest.mark.parametrize("name", debug_copies.MODULES)
def test_rasas_modules_copy_only_for_their_debug_logs(name: str) -> None:
    assert deepcopies_only_for_debug_logs(inspect.getsource(importlib.import_module(name)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("structlogger.debug('x', events=copy.deepcopy(events))", True),
        ("structlogger.debug('x', copy.deepcopy(events))", True),
        ("structlogger.debug('x', a=f(copy.deepcopy(events)))", False),  # f gets the value first
        ("structlogger.debug('x', a=list(map(copy.deepcopy, events)))", False),
        ("duplicate = copy.deepcopy", False),  # a bare reference
        ("kept = copy.deepcopy(events)", False),
        ("structlogger.debug('x', events=copy.deepcopy(e))\nkept = copy.deepcopy(events)", False),
        ("structlogger.info('x', events=copy.deepcopy(events))", False),  # kept by an info log
        ("structlogger.debug('x', events=events)", False),  # nothing to patch
    ],
)
def test_the_source_check(source: str, expected: bool) -> None:
    assert deepcopies_only_for_debug_logs(source) is expected


@pytest.mark.parametrize("module", [rasa.core.processor, rasa.core.policies.rule_policy])
def test_copies_are_made_only_while_debug_logging_is_on(
    module: types.ModuleType, restore_stock: None
) -> None:
    assert rasa_patches.patch_debug_only_copies() is True
    shim = module.copy
    assert isinstance(shim, DebugOnlyDeepcopy)
    events: list[dict[str, Any]] = [{"event": "user", "text": "hi", "parse_data": {"entities": []}}]
    logger = logging.getLogger(module.__name__)
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert shim.deepcopy(events) is events
        logger.setLevel(logging.DEBUG)
        copied = shim.deepcopy(events)
        assert (
            copied == events
            and copied is not events
            and copied[0]["parse_data"] is not events[0]["parse_data"]
        )
    finally:
        logger.setLevel(level)
    assert shim.copy is copy.copy  # the rest of the module is the real one
    assert rasa_patches.patch_debug_only_copies() is True  # applying twice keeps the one shim
    assert module.copy is shim


@pytest.fixture
def rasas_structlog() -> Iterator[None]:
    configure_structlog(logging.DEBUG)
    yield
    structlog.reset_defaults()


def test_rasas_own_debug_logs_copy_only_when_they_are_kept(
    restore_stock: None,
    rasas_structlog: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rasa_patches.patch_debug_only_copies()
    copied: list[object] = []

    def counting_deepcopy(value: Any, memo: Any = None) -> Any:
        copied.append(value)
        return copy.deepcopy(value, memo)

    monkeypatch.setattr(debug_copies, "copy", types.SimpleNamespace(deepcopy=counting_deepcopy))
    processor = types.SimpleNamespace(domain=DOMAIN)  # what _log_action_on_tracker reads of the processor

    def log_an_action() -> list[SlotSet]:
        events = [SlotSet("card_status", "dispatched")]
        tracker = DialogueStateTracker("anna", DOMAIN.slots)
        prediction = PolicyPrediction([1.0], "RulePolicy")
        MessageProcessor._log_action_on_tracker(processor, tracker, ActionListen(), events, prediction)  # type: ignore[arg-type]
        assert tracker.get_slot("card_status") == "dispatched"  # the events themselves still applied
        return events

    with caplog.at_level(logging.INFO, logger="rasa.core.processor"):
        events = log_an_action()
    assert not any(record.name == "rasa.core.processor" for record in caplog.records)
    assert events not in copied and not copied

    with caplog.at_level(logging.DEBUG, logger="rasa.core.processor"):
        events = log_an_action()
    logged = [record.getMessage() for record in caplog.records if record.name == "rasa.core.processor"]
    assert any("processor.actions.log" in message and "dispatched" in message for message in logged)
    assert any(value == events for value in copied)  # kept by the log: copied


def test_not_applied_when_a_plugin_anonymizes_logs(
    restore_stock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rasa.plugin

    class Hook:
        def get_hookimpls(self) -> list[object]:
            return [object()]

    class Manager:
        class hook:  # noqa: N801 - pluggy's attribute name
            get_anonymization_pipeline = Hook()

    monkeypatch.setattr(rasa.plugin, "plugin_manager", lambda: Manager())
    assert rasa_patches.patch_debug_only_copies() is False
    assert rasa.core.processor.copy is copy


@pytest.mark.parametrize(
    "breakage",
    [
        lambda monkeypatch: monkeypatch.setattr(
            debug_copies, "deepcopies_only_for_debug_logs", lambda source: False
        ),
        lambda monkeypatch: monkeypatch.setattr(
            inspect, "getsource", lambda module: (_ for _ in ()).throw(OSError)
        ),
    ],
    ids=["copies-for-more", "no-source"],
)
def test_a_module_that_does_not_qualify_is_left_alone(
    breakage: Any, restore_stock: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    breakage(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="debug_copies"):
        assert rasa_patches.patch_debug_only_copies() is False
    assert rasa.core.processor.copy is copy
    assert "copies for more than its debug logs" in caplog.text
