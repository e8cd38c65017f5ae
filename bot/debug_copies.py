"""Deep copies that Rasa 3.6.21 makes for its debug logs, made only while debug logging is on.

``rasa.core.processor`` and the rule policy deep-copy events, states and parse data as keyword values of
every ``structlogger.debug`` call they make, whether debug logging is on or not (4.1% of the Rasa server's
samples in a py-spy profile under ``clearline bench chat``). In a module where every mention of
``copy.deepcopy`` is such a keyword value or positional argument (checked on its source when patching),
``copy`` is replaced by a stand-in that hands the value itself back unless the module's logger is enabled
for DEBUG: a debug call that is filtered out drops its arguments unused. structlog's ``filter_by_level``
asks the stdlib logger named after the calling module, the one checked here. Rasa's log anonymizer runs
before that filter and could change what it is given, so nothing is patched when a plugin provides its
pipeline.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import logging
from typing import Any

# Rasa modules whose every copy.deepcopy builds an argument of a structlogger.debug call (rasa 3.6.21)
MODULES = ("rasa.core.processor", "rasa.core.policies.rule_policy")
logger = logging.getLogger(__name__)


def _is_attribute(node: ast.AST, owner: str, name: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == name
        and isinstance(node.value, ast.Name)
        and node.value.id == owner
    )


def deepcopies_only_for_debug_logs(source: str) -> bool:
    """Whether ``source`` mentions ``copy.deepcopy``, and only as calls that are themselves arguments (a
    keyword value or a positional argument) of ``structlogger.debug(...)``; a bare reference or a copy
    handed to anything else first does not qualify."""
    tree = ast.parse(source)
    mentions = [node for node in ast.walk(tree) if _is_attribute(node, "copy", "deepcopy")]
    allowed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_attribute(node.func, "structlogger", "debug"):
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                if isinstance(argument, ast.Call) and _is_attribute(argument.func, "copy", "deepcopy"):
                    allowed.add(id(argument.func))
    return bool(mentions) and all(id(node) in allowed for node in mentions)


class DebugOnlyDeepcopy:
    """The ``copy`` module as seen by a module whose deep copies only feed its debug log calls: a deep copy
    is made only while that module's logger is enabled for DEBUG (the log would keep it); otherwise the
    value itself is handed back to a call that drops it. Everything else is the real ``copy`` module."""

    def __init__(self, module_logger: logging.Logger) -> None:
        self._logger = module_logger

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if self._logger.isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _qualifies(module: Any) -> bool:
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):  # installed without its sources: nothing to check, so no patch
        return False
    return deepcopies_only_for_debug_logs(source)


def apply() -> bool:
    """Put the stand-in into each module of ``MODULES`` that qualifies; whether any has it now."""
    from rasa.plugin import plugin_manager

    if plugin_manager().hook.get_anonymization_pipeline.get_hookimpls():
        return False
    patched = False
    for name in MODULES:
        module = importlib.import_module(name)
        current = module.__dict__.get("copy")
        if isinstance(current, DebugOnlyDeepcopy):
            patched = True
        elif current is copy and _qualifies(module):
            module.copy = DebugOnlyDeepcopy(logging.getLogger(name))  # type: ignore[attr-defined]
            patched = True
        else:
            logger.warning("%s copies for more than its debug logs: left as it is", name)
    return patched
