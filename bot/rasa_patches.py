"""Clearline's changes to Rasa 3.6.21's hot path, applied by serve.py before Rasa starts.

Each one is measured with `clearline bench chat --stock` (README, "The customer's path") and keeps Rasa's
behaviour: only how often work is repeated changes. They apply to exactly the Rasa version they were
written against; on any other version serve.py starts stock Rasa and says so. CLEARLINE_RASA_PATCHES=off
turns them off (the bench's stock baseline).

- Action server responses: stock Rasa calls ``jsonschema.validate`` on every response, which checks the
  events schema against the JSON Schema meta-schema and builds a validator each time (45% of the server's
  CPU in a profile under load). Here the schema is checked once and one validator is reused; a malformed
  response is rejected with the same error and message as before.
"""

from __future__ import annotations

import logging
from typing import Any

PINNED_RASA = "3.6.21"
logger = logging.getLogger(__name__)


def apply() -> list[str]:
    """Apply every patch; returns the names applied (none when the Rasa version is not the pinned one)."""
    import rasa

    if rasa.__version__ != PINNED_RASA:
        logger.warning(
            "Clearline's Rasa patches are for rasa %s, this is %s: running stock Rasa",
            PINNED_RASA,
            rasa.__version__,
        )
        return []
    patch_action_response_validation()
    return ["action_response_validation"]


def patch_action_response_validation() -> None:
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of per response
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        # what jsonschema.validate does after checking the schema, with the message stock Rasa adds
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
