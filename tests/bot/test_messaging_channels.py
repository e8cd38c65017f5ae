"""bot/channels/telegram.py and slack.py: Rasa's connectors against loopback stand-ins of the providers'
APIs (tests/channel_standins.py). The whole conversation through a running stack is in
tests/e2e/test_messaging_channels.py."""

import asyncio
import sys
from collections.abc import Iterator

import pytest
from rasa.core.channels import telegram as rasa_telegram
from rasa.shared.exceptions import RasaException

from tests.bot.conftest import BOT_DIR
from tests.channel_standins import (
    BOT_NAME,
    BOT_TOKEN,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    TELEGRAM_SECRET,
    SlackStandIn,
    TelegramStandIn,
    serving,
)

sys.path.insert(0, str(BOT_DIR))  # Rasa loads them by module path from bot/, as credentials name them
from channels.slack import SlackBot, SlackInput  # noqa: E402
from channels.telegram import TelegramInput, TelegramOutput  # noqa: E402

WEBHOOK = "https://clearline.example/webhooks/telegram/webhook"


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramStandIn]:
    standin = TelegramStandIn()
    with serving(standin):
        monkeypatch.setenv("TELEGRAM_API_URL", standin.url)
        yield standin


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    standin = SlackStandIn()
    with serving(standin):
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        yield standin


def telegram_input() -> TelegramInput:
    credentials = {
        "access_token": BOT_TOKEN,
        "verify": BOT_NAME,
        "webhook_url": WEBHOOK,
        "secret_token": TELEGRAM_SECRET,
    }
    return TelegramInput.from_credentials(credentials)


def test_the_public_hosts_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_API_URL", raising=False)
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    assert TelegramOutput(BOT_TOKEN).server.api_url(BOT_TOKEN, "getMe") == (
        f"https://api.telegram.org/bot{BOT_TOKEN}/getMe"
    )
    assert SlackBot(SLACK_BOT_TOKEN).client.base_url == "https://slack.com/api/"


def test_telegram_registers_the_webhook_once_and_the_api_gets_the_same_output(
    telegram: TelegramStandIn,
) -> None:
    channel = telegram_input()
    assert channel.name() == "telegram"
    at_start = channel.get_output_channel()  # as Rasa's blueprint does, before the server's loop runs
    assert telegram.webhook_url == WEBHOOK
    assert telegram.secret_token == TELEGRAM_SECRET  # Telegram sends it back with every update

    async def from_the_api() -> TelegramOutput:
        # as Rasa's HTTP API does for output_channel=latest, inside the server's running loop
        output = channel.get_output_channel()
        await output.send_text_message("4242", "An agent's words\n\nin two parts")
        await output.session.close()
        return output

    assert asyncio.run(from_the_api()) is at_start
    assert telegram.sent(4242) == ["An agent's words", "in two parts"]
    assert len(telegram.called("setWebhook")) == 1


@pytest.mark.filterwarnings("ignore:coroutine 'Bot.set_webhook' was never awaited")
def test_rasas_own_telegram_output_cannot_be_had_from_a_running_loop() -> None:
    """Why bot/channels/telegram.py builds its output once (RasaHQ/rasa#13040, rasa 3.6.21)."""
    stock = rasa_telegram.TelegramInput(BOT_TOKEN, BOT_NAME, WEBHOOK)

    async def from_the_api() -> None:
        stock.get_output_channel()

    with pytest.raises(RuntimeError, match="running event loop"):
        asyncio.run(from_the_api())


def test_a_failed_webhook_registration_stops_the_start_as_in_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    standin = TelegramStandIn()
    with serving(standin):
        monkeypatch.setenv("TELEGRAM_API_URL", standin.url)
        broken = TelegramInput.from_credentials(
            {
                "access_token": "999:wrong-token",
                "verify": BOT_NAME,
                "webhook_url": WEBHOOK,
                "secret_token": "s",
            }
        )
        with pytest.raises(Exception, match="Failed to set channel webhook"):
            broken.get_output_channel()


@pytest.mark.parametrize("secret", [None, ""])
def test_telegram_without_a_secret_token_does_not_start(secret: str | None) -> None:
    """Telegram's sender id is trusted as the customer: only updates carrying the webhook's secret may be."""
    credentials = {
        "access_token": BOT_TOKEN,
        "verify": BOT_NAME,
        "webhook_url": WEBHOOK,
        "secret_token": secret,
    }
    with pytest.raises(RasaException, match="secret_token"):
        TelegramInput.from_credentials({**credentials, "secret_token": secret})


def slack_input() -> SlackInput:
    credentials = {
        "slack_token": SLACK_BOT_TOKEN,
        "slack_channel": "C0SUPPORT",
        "slack_signing_secret": SLACK_SIGNING_SECRET,
    }
    return SlackInput.from_credentials(credentials)


def test_slack_answers_where_the_customer_wrote_and_the_api_writes_to_the_customer(
    slack: SlackStandIn,
) -> None:
    channel = slack_input()
    assert channel.name() == "slack"

    async def send() -> None:
        # the webhook's output: the channel of the customer's message (here their direct message)
        await channel.get_output_channel("D0CUSTOMER").send_text_message("U0CUSTOMER", "the bot")
        # the HTTP API's (output_channel=latest): the customer's own user id, never SLACK_CHANNEL
        await channel.get_output_channel().send_text_message("U0CUSTOMER", "an agent")

    asyncio.run(send())
    assert slack.sent("D0CUSTOMER") == ["the bot"]
    assert slack.sent("U0CUSTOMER") == ["an agent"]
    assert slack.sent("C0SUPPORT") == []


def test_slack_without_a_signing_secret_is_refused_as_in_rasa() -> None:
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException, match="signing secret"):
        SlackInput.from_credentials({"slack_token": SLACK_BOT_TOKEN, "slack_channel": "C0SUPPORT"})
