"""Login, sessions, CSRF, bearer tokens, rate limiting, demo seeding."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.ratelimit import limiter
from api.relay import OutboxRelay
from api.security import hash_password, password_fingerprint
from api.sessions import open_session
from api.settings import ApiSettings
from tests.unit.api.conftest import RecordingRasa, bearer, bearer_by_login, login
from tests.unit.api.factories import PASSWORD
from triage.settings import CoreSettings
from triage.storage.db import AuthSession, User, make_engine, make_session_factory, session_scope


def test_login_sets_httponly_samesite_cookie_and_returns_csrf(
    client: TestClient, team: dict[str, int]
) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "alice" and body["user"]["role"] == "agent"
    assert "password_hash" not in body["user"]
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie.replace("httponly", "")  # the test app runs on plain http


def test_secure_cookie_when_configured(
    core: CoreSettings, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    app = create_app(core, ApiSettings(cookie_secure=True), factory, OutboxRelay(factory, RecordingRasa))
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert "; secure" in response.headers["set-cookie"].lower()


def test_wrong_password_unknown_user_and_inactive_user_get_the_same_401(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        session.get_one(User, team["bob"]).is_active = False
    for username, password in (("alice", "wrong password!!"), ("nobody", PASSWORD), ("bob", PASSWORD)):
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 401
        assert response.json() == {"detail": "wrong username or password"}
        assert "set-cookie" not in response.headers


def test_login_validates_input(client: TestClient) -> None:
    assert client.post("/api/v1/auth/login", json={"username": "", "password": "x"}).status_code == 422
    assert client.post("/api/v1/auth/login", json={"username": "a" * 65, "password": "x"}).status_code == 422
    assert (
        client.post(
            "/api/v1/auth/login", content=b"\x00\xff\xfe", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_me_needs_authentication(client: TestClient, team: dict[str, int]) -> None:
    assert client.get("/api/v1/auth/me").status_code == 401
    csrf = login(client, "sam")
    me = client.get("/api/v1/auth/me").json()
    assert me["user"]["role"] == "supervisor" and me["csrf_token"] == csrf


def test_cookie_requests_that_change_state_need_the_csrf_token(
    client: TestClient, team: dict[str, int]
) -> None:
    csrf = login(client, "alice")
    body = {"status": "away"}
    assert client.put("/api/v1/agents/me/status", json=body).status_code == 403
    assert (
        client.put("/api/v1/agents/me/status", json=body, headers={"X-CSRF-Token": "forged"}).status_code
        == 403
    )
    response = client.put("/api/v1/agents/me/status", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.json()["status"] == "away"


def test_bearer_token_needs_no_csrf_and_bad_tokens_are_refused(
    client: TestClient, team: dict[str, int]
) -> None:
    headers = bearer_by_login(client, "alice")
    response = client.put("/api/v1/agents/me/status", json={"status": "away"}, headers=headers)
    assert response.status_code == 200
    tampered = {"Authorization": headers["Authorization"][:-3] + "abc"}
    assert client.get("/api/v1/auth/me", headers=tampered).status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Basic YWxpY2U6eA=="}).status_code == 401


def test_a_session_cookie_is_not_a_bearer_token(client: TestClient, team: dict[str, int]) -> None:
    login(client, "alice")
    cookie = client.cookies.get("clearline_session")
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401


def test_changing_the_password_ends_sessions_and_tokens(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    headers = bearer_by_login(client, "alice")
    login(client, "alice")
    with session_scope(factory) as session:
        session.get_one(User, team["alice"]).password_hash = hash_password("a brand new password")
    assert client.get("/api/v1/auth/me").status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_logout_clears_the_cookie(client: TestClient, team: dict[str, int]) -> None:
    csrf = login(client, "alice")
    assert client.post("/api/v1/auth/logout").status_code == 403  # CSRF applies to logout too
    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert (
        'clearline_session=""' in response.headers["set-cookie"]
        or "max-age=0" in response.headers["set-cookie"].lower()
    )
    assert client.get("/api/v1/auth/me").status_code == 401


def test_logout_ends_the_session_on_the_server(client: TestClient, team: dict[str, int]) -> None:
    """A copy of the cookie (kept by an attacker, or by the browser's cache) must not outlive logout."""
    csrf = login(client, "alice")
    stolen = client.cookies.get("clearline_session")
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("clearline_session", stolen)
    assert client.get("/api/v1/auth/me").status_code == 401
    away = client.put("/api/v1/agents/me/status", json={"status": "away"}, headers={"X-CSRF-Token": csrf})
    assert away.status_code == 401
    assert client.get("/console", follow_redirects=False).headers["location"].startswith("/login")


def test_logout_with_a_bearer_token_revokes_that_token_only(client: TestClient, team: dict[str, int]) -> None:
    first, second = bearer_by_login(client, "alice"), bearer_by_login(client, "alice")
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert client.get("/api/v1/auth/me", headers=first).status_code == 401
    away = client.put("/api/v1/agents/me/status", json={"status": "away"}, headers=first)
    assert away.status_code == 401
    assert client.get("/api/v1/auth/me", headers=second).status_code == 200  # another client's token


def test_a_signed_token_without_a_session_on_the_server_is_refused(
    client: TestClient, team: dict[str, int], core: CoreSettings
) -> None:
    """Tokens signed before sessions were stored (or for a session since deleted) carry no live session."""
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        alice = session.get_one(User, team["alice"])
        fingerprint = password_fingerprint(alice.password_hash)
    old_token = URLSafeTimedSerializer(core.secret_key, salt="clearline-api-token").dumps(
        {"uid": team["alice"], "fp": fingerprint}
    )
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    made_up = URLSafeTimedSerializer(core.secret_key, salt="clearline-api-token").dumps(
        {"uid": team["alice"], "fp": fingerprint, "sid": "not-a-session"}
    )
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {made_up}"}).status_code == 401


def test_an_expired_session_is_refused_and_deleted_at_the_next_sign_in(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        alice = session.get_one(User, team["alice"])
        expired = open_session(session, alice, "bearer", -1)
        token = client.app.state.signer.api_token(expired.id, alice.id, alice.password_hash)  # type: ignore[attr-defined]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    bearer_by_login(client, "alice")
    with factory() as session:
        assert session.get(AuthSession, expired.id) is None
        assert len(session.scalars(select(AuthSession)).all()) == 1


def test_login_is_rate_limited(client: TestClient, team: dict[str, int]) -> None:
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "not the password"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # the limit holds for right passwords too, and for the token endpoint's own budget separately
    assert (
        client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}).status_code == 429
    )
    assert (
        client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}).status_code == 200
    )


def test_demo_mode_seeds_demo_users_at_start(db_url: str, factory: sessionmaker[Session]) -> None:
    limiter.reset()
    core = CoreSettings(database_url=db_url, demo=True)
    with TestClient(create_app(core, ApiSettings(), factory, OutboxRelay(factory, RecordingRasa))) as client:
        assert (
            client.post(
                "/api/v1/auth/login", json={"username": "sam", "password": "clearline-demo"}
            ).status_code
            == 200
        )
    with factory() as session:
        names = set(session.scalars(select(User.username)))
        alice = session.scalars(select(User).where(User.username == "alice")).one()
    assert names == {"alice", "bob", "sam", "admin"}
    assert alice.skills and alice.capacity > 0


def test_no_demo_users_outside_demo_mode(client: TestClient, factory: sessionmaker[Session]) -> None:
    with factory() as session:
        assert session.scalars(select(User)).all() == []


def test_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert client.get("/api/v1/queues").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("cache-control", "")


def test_admin_adds_users_with_validation(client: TestClient, team: dict[str, int]) -> None:
    headers = bearer(client, "root")
    body = {"username": "carol", "password": "long enough password", "role": "agent", "skills": ["cards"]}
    created = client.post("/api/v1/users", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["status"] == "available"
    assert client.post("/api/v1/users", json=body, headers=headers).status_code == 409
    for bad in (
        {**body, "username": "dan", "password": "short"},
        {**body, "username": "<b>x</b>"},
        {**body, "username": "erin", "role": "root"},
        {**body, "username": "fay", "skills": ["Bad Queue"]},
        {**body, "username": "gus", "capacity": 51},
    ):
        assert client.post("/api/v1/users", json=bad, headers=headers).status_code == 422, bad
    names = [u["username"] for u in client.get("/api/v1/users", headers=headers).json()]
    assert "carol" in names and "dan" not in names and "gus" not in names


def test_admin_cannot_name_a_user_like_a_system_actor(client: TestClient, team: dict[str, int]) -> None:
    # the live feed shows an agent the records whose actor is their username: "worker" would see the worker's
    headers = bearer(client, "root")
    body = {"password": "long enough password", "role": "agent", "skills": ["cards"]}
    for name in ("worker", "Policy", "ROUTER", "sla", "bot"):
        refused = client.post("/api/v1/users", json={**body, "username": name}, headers=headers)
        assert refused.status_code == 422, name
        assert "system actor" in refused.json()["detail"], refused.text
    names = [u["username"].lower() for u in client.get("/api/v1/users", headers=headers).json()]
    assert not {"worker", "policy", "router", "sla", "bot"} & set(names)
    allowed = client.post("/api/v1/users", json={**body, "username": "workers"}, headers=headers)
    assert allowed.status_code == 201


def test_demo_mode_without_tables_starts_and_seeds_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    factory = make_session_factory(make_engine(url))
    app = create_app(
        CoreSettings(database_url=url, demo=True), ApiSettings(), factory, OutboxRelay(factory, RecordingRasa)
    )
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    with factory() as session:
        assert not inspect(session.get_bind()).has_table("users")
