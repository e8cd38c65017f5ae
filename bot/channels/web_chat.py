"""The web chat's socket.io channel: Rasa's own, plus Clearline's hand-off marker.

Clearline sends the hand-off notice, the agent's words and the "back with the assistant" notice as
bot events whose metadata holds ``{"clearline": {"handoff": "waiting" | "agent" | "ended"}}`` (see
``triage/rasa/client.py``). Rasa merges event metadata into the message it gives the output channel,
but its socket.io output sends the text alone, so the page could only guess the state from the words.
This output passes the marker on; the page reads it, never the text.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

MARKER = "clearline"


class WebChatOutput(SocketIOOutput):
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        marker = kwargs.get(MARKER)
        for part in text.strip().split("\n\n"):
            message: dict[str, Any] = {"text": part}
            if isinstance(marker, dict):
                message[MARKER] = marker
            await self._send_message(recipient_id, message)


class WebChatInput(SocketIOInput):
    """Rasa's socket.io input under its own name ("socketio"), so trackers, ``output_channel=latest``
    and the chat page work as before; only the output channel Rasa builds for the api differs."""

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return None
        return WebChatOutput(self.sio, self.bot_message_evt)
