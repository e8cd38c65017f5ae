"""Health, readiness, Prometheus metrics, OpenAPI docs and the HTML pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.relay import OutboxRelay
from api.settings import ApiSettings
from tests.unit.api import factories
from tests.unit.api.conftest import RecordingRasa, login
from triage.settings import CoreSettings
from triage.storage.db import Role, make_engine, make_session_factory, session_scope

ROOT = Path(__file__).resolve().parents[3]


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}
    client.get("/api/v1/queues")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'clearline_api_requests_total{method="GET",route="/api/v1/queues",status="401"} 1.0' in metrics.text
    )


def test_readyz_is_503_when_the_database_is_unreachable(core: CoreSettings, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    factory = make_session_factory(make_engine(f"sqlite:///{missing}"))
    app = create_app(core, ApiSettings(), factory, OutboxRelay(factory, RecordingRasa))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_openapi_docs_are_served_locally(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/conversations/{conversation_id}/reply" in spec["paths"]
    assert "/api/v1/handoff" in spec["paths"]


def test_pages_redirect_to_login_and_by_role(client: TestClient, team: dict[str, int]) -> None:
    for page in ("/console", "/supervisor", "/"):
        response = client.get(page, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    login(client, "alice")
    assert client.get("/", follow_redirects=False).headers["location"] == "/console"
    assert client.get("/supervisor", follow_redirects=False).headers["location"] == "/console"
    console = client.get("/console")
    assert console.status_code == 200 and 'name="csrf-token"' in console.text
    login(client, "sam")
    assert client.get("/", follow_redirects=False).headers["location"] == "/supervisor"
    assert client.get("/supervisor").status_code == 200


def test_templates_escape_what_they_show(client: TestClient, factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        evil = factories.user(session, "mallory", Role.SUPERVISOR)
        evil.display_name = '<script>alert("x")</script>'
    login(client, "mallory")
    page = client.get("/supervisor").text
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_chat_page_connects_to_the_configured_rasa(
    core: CoreSettings, factory: sessionmaker[Session]
) -> None:
    settings = ApiSettings(rasa_public_url="https://bot.example.com:5005/")
    app = create_app(core, settings, factory, OutboxRelay(factory, RecordingRasa))
    with TestClient(app) as client:
        page = client.get("/chat")
    assert 'data-rasa-url="https://bot.example.com:5005"' in page.text
    assert "/static/vendor/socket.io.min.js" in page.text
    csp = page.headers["content-security-policy"]
    assert "connect-src 'self' https://bot.example.com:5005 wss://bot.example.com:5005" in csp
    assert "script-src 'self';" in csp


def test_vendored_socket_io_client_is_served_with_its_licence(client: TestClient) -> None:
    js = client.get("/static/vendor/socket.io.min.js")
    assert js.status_code == 200 and "Socket.IO v4" in js.text[:200]
    assert "MIT" in client.get("/static/vendor/socket.io-client.LICENSE").text


def test_metric_labels_use_route_templates_not_raw_paths(client: TestClient) -> None:
    client.get("/api/v1/conversations/some-id-123")
    client.get("/no/such/page")
    text = client.get("/metrics").text
    assert 'route="/api/v1/conversations/{conversation_id}"' in text
    assert "some-id-123" not in text and "/no/such/page" not in text and 'route="unmatched"' in text


def test_importing_the_app_loads_no_model_code() -> None:
    code = (
        "import sys, api.app, api.cli\n"
        "sys.exit(int(any(m in sys.modules for m in ('torch', 'sentiment.model'))))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0


def test_page_scripts_never_write_html() -> None:
    for script in (ROOT / "api" / "static" / "js").glob("*.js"):
        code = "\n".join(line.split("//")[0] for line in script.read_text().splitlines())
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in code, f"{script.name} uses {sink}"
