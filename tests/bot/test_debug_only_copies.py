"""Rasa's debug-log copies (bot/rasa_patches.py, ``debug_only_copies``): made only while debug logs are on."""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
from typing import Any

import pytest
import rasa.core.processor
import rasa_patches
from rasa_patches import DEBUG_ONLY_COPY_MODULES, DebugOnlyDeepcopy, deepcopies_only_for_debug_logs


@pytest.mark.parametrize("name", DEBUG_ONLY_COPY_MODULES)
def test_rasas_modules_copy_only_for_their_debug_logs(name: str) -> None:
    assert deepcopies_only_for_debug_logs(inspect.getsource(importlib.import_module(name)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("structlogger.debug('x', events=copy.deepcopy(events))", True),
        ("structlogger.debug('x', a=f(copy.deepcopy(events)))", True),  # nested in the call's arguments
        ("kept = copy.deepcopy(events)", False),
        ("structlogger.debug('x', events=copy.deepcopy(e))\nkept = copy.deepcopy(events)", False),
        ("structlogger.info('x', events=copy.deepcopy(events))", False),  # kept by an info log
        ("structlogger.debug('x', events=events)", False),  # nothing to patch
    ],
)
def test_the_source_check(source: str, expected: bool) -> None:
    assert deepcopies_only_for_debug_logs(source) is expected


def test_copies_are_made_only_while_debug_logging_is_on(restore_stock: None) -> None:
    assert rasa_patches.patch_debug_only_copies() is True
    shim = rasa.core.processor.copy
    assert isinstance(shim, DebugOnlyDeepcopy)
    events: list[dict[str, Any]] = [{"event": "user", "text": "hi", "parse_data": {"entities": []}}]
    logger = logging.getLogger("rasa.core.processor")
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
    assert rasa.core.processor.copy is shim


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


def test_a_module_that_copies_for_more_is_left_alone(
    restore_stock: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rasa_patches, "deepcopies_only_for_debug_logs", lambda source: False)
    with caplog.at_level(logging.WARNING, logger="rasa_patches"):
        assert rasa_patches.patch_debug_only_copies() is False
    assert rasa.core.processor.copy is copy
    assert "copies for more than its debug logs" in caplog.text
