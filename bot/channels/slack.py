"""Rasa's Slack channel (3.6.21, slack_sdk) with a configurable Web API host, and agents' words sent to
the customer's own conversation with the app.

Behaviour pinned to rasa 3.6.21's ``rasa.core.channels.slack``; two differences only:

- ``SLACK_API_URL`` (default ``https://slack.com/api/``, so production is unchanged) is the Web API's
  base URL, e.g. a loopback stand-in in tests; slack_sdk's ``AsyncWebClient`` takes it as ``base_url``.
- The output channel the HTTP API asks for (``output_channel=latest``: the hand-off notices and the
  agent's replies) is built without a Slack channel, so a message goes to the conversation's sender id,
  the customer's Slack user id, which Slack delivers in the customer's direct conversation with the app.
  Rasa's would post it to ``slack_channel`` (``SLACK_CHANNEL``): a customer who wrote in a direct
  message would have an agent's words about their case posted in that channel instead. The bot's own
  answers still go where the customer wrote, as in Rasa.

Request verification is Rasa's: every webhook request must carry a valid ``X-Slack-Signature`` made with
the signing secret, no older than five minutes.
"""

from __future__ import annotations

import os

from rasa.core.channels import slack as rasa_slack
from rasa.core.channels.channel import OutputChannel
from slack_sdk.web.async_client import AsyncWebClient

API_URL_VARIABLE = "SLACK_API_URL"
PUBLIC_API_URL = AsyncWebClient.BASE_URL  # https://slack.com/api/


class SlackBot(rasa_slack.SlackBot):
    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        base_url = os.environ.get(API_URL_VARIABLE) or PUBLIC_API_URL
        self.client = AsyncWebClient(token, proxy=proxy, base_url=base_url)


class SlackInput(rasa_slack.SlackInput):
    """Rasa's Slack input under its own name ("slack"), loaded by module path from credentials."""

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> OutputChannel:
        # channel is None only when Rasa's HTTP API asks (the webhook passes the event's channel)
        return SlackBot(self.slack_token, channel, thread_id, self.proxy)
