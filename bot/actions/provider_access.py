"""Open the provider database for one action run, and answer honestly when it is unavailable."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.provider_db import Customer, ProviderRepository, session_scope
from actions.sealing import slot
from actions.settings import get_settings

logger = logging.getLogger(__name__)

RECORDS_UNAVAILABLE = (
    "Sorry, I can't reach our records right now, so I can't check this for you. Please try again in a few "
    "minutes, or ask to talk to a person."
)


class ProviderUnavailable(Exception):
    """The provider database could not be queried (logged, and told to the customer when asked to)."""


@contextmanager
def provider(dispatcher: CollectingDispatcher | None) -> Iterator[ProviderRepository]:
    """A repository in one unit of work; on a database error: tell the customer, raise ProviderUnavailable.

    Without a dispatcher nothing is said (a lookup the customer did not ask for, e.g. at session start).
    """
    try:
        with session_scope(get_settings().provider_db_url) as session:
            yield ProviderRepository(session)
    except SQLAlchemyError:
        logger.exception("provider database unavailable")
        if dispatcher is not None:
            dispatcher.utter_message(text=RECORDS_UNAVAILABLE)
        raise ProviderUnavailable() from None


IDENTITY_LOST = "Sorry, I couldn't confirm your details. Let's start again: what would you like me to check?"


def verified_customer(
    repo: ProviderRepository, tracker: Tracker, dispatcher: CollectingDispatcher
) -> Customer | None:
    """The customer the form's identity slots point to; tells the customer when they no longer match."""
    customer = repo.verify_customer(
        slot(tracker, "customer_email") or "", tracker.get_slot("card_last_four") or ""
    )
    if customer is None:
        dispatcher.utter_message(text=IDENTITY_LOST)
    return customer


def forget_identity() -> list[dict[str, Any]]:
    """Drop an identity that no longer verifies, with the tier it brought (no priority for a stranger)."""
    return [SlotSet("customer_email", None), SlotSet("card_last_four", None), SlotSet("customer_tier", None)]
