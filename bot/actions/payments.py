"""Transfer and refund status flows."""

import datetime as dt
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.formatting import day, money
from actions.provider_access import ProviderUnavailable, forget_identity, provider, verified_customer
from actions.provider_db import Customer, ProviderRepository, Refund, RefundStatus, Transfer, TransferStatus

UNKNOWN_TRANSFER = (
    "I can't find a transfer with reference {reference} on your account. Please check the reference on the "
    "transfer in the app under Payments, then ask me again."
)
UNKNOWN_REFUND = (
    "I can't find a refund with reference {reference} on your account. If the merchant only just issued it, "
    "it can take a day to appear; otherwise please check the reference in their confirmation and ask me "
    "again."
)


def transfer_message(transfer: Transfer, today: dt.date) -> str:
    amount = money(transfer.amount_minor, transfer.currency)
    what = f"Your transfer {transfer.reference} of {amount} to {transfer.recipient}"
    if transfer.status == TransferStatus.PENDING:
        if transfer.expected_by and transfer.expected_by < today:
            return f"{what} is still pending and is late. I can connect you with a person to look into it."
        when = f" and should arrive by {day(transfer.expected_by)}" if transfer.expected_by else ""
        return f"{what} is pending{when}. No need to send it again."
    if transfer.status == TransferStatus.COMPLETED:
        settled = f" on {day(transfer.settled_on)}" if transfer.settled_on else ""
        return (
            f"{what} was completed{settled}: the money has left your account. If the recipient can't see it, "
            "ask them to check with their bank, quoting the reference."
        )
    reason = f": {transfer.failure_reason}" if transfer.failure_reason else ""
    status = "failed" if transfer.status == TransferStatus.FAILED else "was returned"
    return f"{what} {status}{reason}. The money is back in your balance: check the details and send it again."


def refund_message(refund: Refund) -> str:
    amount = money(refund.amount_minor, refund.currency)
    what = f"Your refund {refund.reference} of {amount} from {refund.merchant}"
    if refund.status == RefundStatus.PROCESSING:
        when = f" and should reach your balance by {day(refund.expected_by)}" if refund.expected_by else ""
        return f"{what} has been issued by the merchant{when}."
    if refund.status == RefundStatus.COMPLETED:
        done = f" on {day(refund.completed_on)}" if refund.completed_on else ""
        return f"{what} was paid into your balance{done}."
    reason = f": {refund.rejection_reason}" if refund.rejection_reason else ""
    return f"{what} didn't go through{reason}. Please contact {refund.merchant} about it."


class ReferenceStatusAction(Action, metaclass=ABCMeta):
    """Look up one of the verified customer's records by the reference the form collected, and describe it."""

    slot: str
    unknown_text: str

    @abstractmethod
    def describe(self, repo: ProviderRepository, customer: Customer, reference: str) -> str | None:
        """The status message, or None when the customer has no record with this reference."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reference = tracker.get_slot(self.slot) or ""
        try:
            with provider(dispatcher) as repo:
                customer = verified_customer(repo, tracker, dispatcher)
                if customer is None:
                    return forget_identity()
                message = self.describe(repo, customer, reference)
                dispatcher.utter_message(text=message or self.unknown_text.format(reference=reference))
        except ProviderUnavailable:
            pass
        return [SlotSet(self.slot, None)]


class ActionTransferStatus(ReferenceStatusAction):
    slot = "transfer_reference"
    unknown_text = UNKNOWN_TRANSFER

    def name(self) -> str:
        return "action_transfer_status"

    def describe(self, repo: ProviderRepository, customer: Customer, reference: str) -> str | None:
        transfer = repo.transfer(customer, reference)
        return transfer_message(transfer, dt.date.today()) if transfer else None


class ActionRefundStatus(ReferenceStatusAction):
    slot = "refund_reference"
    unknown_text = UNKNOWN_REFUND

    def name(self) -> str:
        return "action_refund_status"

    def describe(self, repo: ProviderRepository, customer: Customer, reference: str) -> str | None:
        refund = repo.refund(customer, reference)
        return refund_message(refund) if refund else None
