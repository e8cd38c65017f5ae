"""How amounts and dates read in the assistant's messages."""

import datetime as dt


def money(amount_minor: int, currency: str) -> str:
    return f"{currency} {amount_minor / 100:,.2f}"


def day(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B}"
