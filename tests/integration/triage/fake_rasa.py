"""A tiny HTTP server on loopback that records requests the way Rasa's API would receive them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SPANISH = [{"type": "slot", "name": "customer_language", "value": "es"}]
STARS = [{"title": str(n), "payload": f'/csat{{"rating": {n}}}'} for n in range(1, 6)]
# as Rasa's GET /domain gives them: conditional variants first (bot/domain/handoff.yml, csat.yml)
RESPONSES = {
    "utter_handoff_notice": [
        {"condition": SPANISH, "text": "Una persona de nuestro equipo se unirá en breve."},
        {"text": "A member of our team will join shortly."},
    ],
    "utter_handoff_resumed": [{"text": "You're back with the assistant."}],
    "utter_agent_joined": [
        {"condition": SPANISH, "text": "{agent_name}, de Northwind Pay, se ha unido a la conversación"},
        {"text": "{agent_name} from Northwind Pay joined"},
    ],
    "utter_ask_csat": [
        {"condition": SPANISH, "text": "¿Cómo valoraría la ayuda?", "buttons": STARS},
        {"text": "How would you rate the help you got today?", "buttons": STARS},
    ],
    # a variant on another slot is never picked by Clearline
    "utter_tier_only": [
        {"condition": [{"type": "slot", "name": "customer_tier", "value": "vip"}], "text": "x"}
    ],
}


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class RasaDouble:
    status: int = 200
    requests: list[Recorded] = field(default_factory=list)
    tracker_events: list[dict[str, Any]] = field(default_factory=list)  # what GET .../tracker answers
    tracker_raw: bytes | None = None  # ... or this body, as it is
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RasaDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the domain or a tracker (not recorded)
                if urlsplit(self.path).path.endswith("/tracker"):
                    accepted, payload = True, json.dumps({"events": double.tracker_events}).encode()
                    payload = double.tracker_raw if double.tracker_raw is not None else payload
                else:  # Rasa 3.6 answers 406 without this header
                    accepted = self.headers.get("Accept") == "application/json"
                    payload = json.dumps({"responses": RESPONSES}).encode()
                self.send_response(double.status if accepted else 406)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                parts = urlsplit(self.path)
                double.requests.append(Recorded(parts.path, parse_qs(parts.query), body))
                payload = json.dumps({"ok": double.status < 300}).encode()
                self.send_response(double.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
