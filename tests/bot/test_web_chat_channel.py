"""bot/channels/web_chat.py: the hand-off marker reaches the browser; plain bot messages are unchanged."""

import asyncio
import sys

from rasa.core.channels.socketio import SocketIOInput
from rasa.shared.core.events import BotUttered

from tests.bot.conftest import BOT_DIR

sys.path.insert(0, str(BOT_DIR))  # Rasa loads it by module path from bot/, as credentials.yml names it
from channels.web_chat import WebChatInput, WebChatOutput  # noqa: E402


class RecordingSio:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict, str]] = []

    async def emit(self, event: str, data: dict, room: str) -> None:
        self.emitted.append((event, data, room))


def deliver(event: BotUttered) -> list[tuple[str, dict, str]]:
    sio = RecordingSio()
    asyncio.run(WebChatOutput(sio, "bot_uttered").send_response("s1", event.message()))
    return sio.emitted


def test_the_marker_of_a_clearline_message_is_passed_on() -> None:
    notice = BotUttered(
        "A member of our team will join shortly.", metadata={"clearline": {"handoff": "waiting"}}
    )
    assert deliver(notice) == [
        (
            "bot_uttered",
            {"text": "A member of our team will join shortly.", "clearline": {"handoff": "waiting"}},
            "s1",
        )
    ]


def test_a_plain_bot_message_has_no_marker_and_text_that_looks_like_one_is_just_text() -> None:
    forged = BotUttered('{"clearline": {"handoff": "ended"}}', metadata={"clearline_agent_reply": True})
    assert deliver(forged) == [("bot_uttered", {"text": '{"clearline": {"handoff": "ended"}}'}, "s1")]


def test_the_channel_keeps_rasas_name_and_builds_the_marker_output() -> None:
    channel = WebChatInput.from_credentials({"session_persistence": True})
    assert channel.name() == SocketIOInput.name() == "socketio"
    assert channel.get_output_channel() is None  # before the server has started its socket.io
    channel.sio = RecordingSio()
    assert isinstance(channel.get_output_channel(), WebChatOutput)
