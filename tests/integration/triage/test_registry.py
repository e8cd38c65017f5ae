"""The registry on real databases: migrations, adding, promoting and rolling back with the audit, the
first-start registration, and the ``clearline models|policies`` commands with their errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from tests.postgres import temporary_schema
from tests.unit.triage.policies import SHIPPED_POLICY, shipped_policy_data
from triage import audit
from triage.domain.policy import load_policy
from triage.registry import store
from triage.registry.active import active_model_version, active_policy
from triage.registry.artifacts import model_candidate
from triage.registry.bootstrap import register_configured
from triage.registry.rules import AlreadyActive, NotAnAdmin, UnknownVersion, VersionConflict, policy_candidate
from triage.registry.tables import ModelVersion, PolicyVersion
from triage.settings import ROOT
from triage.storage.db import AuditRecord, Role, User, make_engine, make_session_factory, session_scope
from triage.storage.migrate import upgrade

SHIPPED_MODEL = ROOT / "data" / "models" / "emotions"
ADMIN = audit.Actor("user", "root", 1)


def policy_text(version: str, escalate_at: int = 50) -> str:
    return yaml.safe_dump(shipped_policy_data() | {"version": version, "escalate_at": escalate_at})


def candidate_model(tmp_path: Path, version: str) -> Path:
    """A copy of a small checkpoint's files under another version (weights: a few bytes)."""
    path = tmp_path / version
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(version.encode())
    (path / "clearline.json").write_text(json.dumps({"version": version, "stress": {"scale": 1.0}}))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
        upgrade(url)
        yield url
        return
    with temporary_schema("registry") as url:
        upgrade(url)
        yield url


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    with session_scope(make_session_factory(engine)) as session:
        for name, role in (("root", Role.ADMIN), ("sam", Role.SUPERVISOR)):
            session.add(User(username=name, display_name=name, password_hash="x", role=role, skills=[]))
    yield make_session_factory(engine)
    engine.dispose()


def test_the_migration_builds_both_tables_with_one_active_row_each(database_url):
    engine = make_engine(database_url)
    try:
        assert {"model_versions", "policy_versions"} <= set(inspect(engine).get_table_names())
        with pytest.raises(IntegrityError), session_scope(make_session_factory(engine)) as session:
            for version in ("a", "b"):  # the partial unique index over the active rows refuses the second
                session.add(PolicyVersion(version=version, yaml="", digest="d", added_by="t", active=True))
    finally:
        engine.dispose()


def test_promote_and_rollback_switch_the_active_policy_and_are_audited(factory):
    with session_scope(factory) as session:
        for version in ("v1", "v2"):
            candidate = policy_candidate(policy_text(version))
            store.add_policy(session, candidate, actor=ADMIN, reason=f"add {version}")
        store.promote(session, "policy", "v1", actor=ADMIN, reason="first")
        store.promote(session, "policy", "v2", actor=ADMIN, reason="tighter thresholds")
    with factory() as session:
        assert active_policy(session).version == "v2"
    with session_scope(factory) as session:
        switch = store.rollback(session, "policy", actor=ADMIN, reason="too many escalations")
    assert (switch.before, switch.after) == ("v2", "v1")
    with factory() as session:
        assert active_policy(session).version == "v1"
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action.like("policy_%")).order_by(AuditRecord.id)
        ).all()
    assert [(r.action, r.actor, r.inputs.get("reason"), r.outcome["version"]) for r in records] == [
        ("policy_add", "root", "add v1", "v1"),
        ("policy_add", "root", "add v2", "v2"),
        ("policy_promote", "root", "first", "v1"),
        ("policy_promote", "root", "tighter thresholds", "v2"),
        ("policy_rollback", "root", "too many escalations", "v1"),
    ]
    assert records[-1].inputs["previous_version"] == "v2"


def test_bad_switches_change_nothing(factory, tmp_path):
    with session_scope(factory) as session:
        store.add_model(session, model_candidate(candidate_model(tmp_path, "m1")), actor=ADMIN, reason="r")
        store.promote(session, "model", "m1", actor=ADMIN, reason="first")
    for attempt, error in (
        (lambda s: store.promote(s, "model", "nope", actor=ADMIN, reason="r"), UnknownVersion),
        (lambda s: store.promote(s, "model", "m1", actor=ADMIN, reason="again"), AlreadyActive),
        (lambda s: store.rollback(s, "model", actor=ADMIN, reason="r"), Exception),
        (lambda s: store.admin_actor(s, "sam"), NotAnAdmin),
    ):
        with pytest.raises(error), session_scope(factory) as session:
            attempt(session)
    with factory() as session:
        assert active_model_version(session) == "m1"
        assert session.scalar(select(AuditRecord.id).where(AuditRecord.action == "model_rollback")) is None


def test_a_version_added_again_with_other_content_is_refused(factory):
    with session_scope(factory) as session:
        store.add_policy(session, policy_candidate(policy_text("v1")), actor=ADMIN, reason="r")
        _, created = store.add_policy(session, policy_candidate(policy_text("v1")), actor=ADMIN, reason="r")
        assert created is False
    with pytest.raises(VersionConflict), session_scope(factory) as session:
        other = policy_candidate(policy_text("v1", escalate_at=40))
        store.add_policy(session, other, actor=ADMIN, reason="r")


def test_the_configured_model_and_policy_are_registered_once_on_first_start(factory):
    assert register_configured(factory, SHIPPED_MODEL, SHIPPED_POLICY) == [
        f"policy {load_policy(SHIPPED_POLICY).version}",
        f"model {model_candidate(SHIPPED_MODEL).version}",
    ]
    assert register_configured(factory, SHIPPED_MODEL, SHIPPED_POLICY) == []  # idempotent
    with factory() as session:
        models = session.scalars(select(ModelVersion)).all()
        policies = session.scalars(select(PolicyVersion)).all()
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
    assert [(m.active, m.added_by, m.weights_digest) for m in models] == [
        (True, "registry", model_candidate(SHIPPED_MODEL).weights_digest)
    ]
    # the registered metrics are the model's own dev figures (its clearline.json), not recomputed
    shipped_metrics = json.loads((SHIPPED_MODEL / "clearline.json").read_text())["dev_metrics"]
    assert models[0].metrics["ece"] == pytest.approx(shipped_metrics["ece"])
    assert shipped_metrics["ece"] == pytest.approx(0.0117)  # the model card's figure
    assert [(p.active, p.yaml) for p in policies] == [(True, SHIPPED_POLICY.read_text())]
    assert actions == ["policy_add", "policy_promote", "model_add", "model_promote"]


def test_first_start_leaves_an_admin_s_choice_alone(factory, tmp_path):
    with session_scope(factory) as session:
        store.add_policy(session, policy_candidate(policy_text("chosen")), actor=ADMIN, reason="r")
        store.promote(session, "policy", "chosen", actor=ADMIN, reason="r")
    assert register_configured(factory, SHIPPED_MODEL, SHIPPED_POLICY) == [
        f"model {model_candidate(SHIPPED_MODEL).version}"
    ]
    with factory() as session:
        assert active_policy(session).version == "chosen"


def cli(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", database_url])
    return result.exit_code, result.output


def test_the_cli_adds_promotes_and_rolls_back_in_an_admin_s_name(factory, database_url, tmp_path):
    first, second = candidate_model(tmp_path, "m1"), candidate_model(tmp_path, "m2")
    for path in (first, second):
        code, out = cli(database_url, "models", "add", str(path), "--reason", "candidate", "--by", "root")
        assert code == 0, out
    assert cli(database_url, "models", "promote", "m1", "--reason", "start", "--by", "root") == (
        0,
        "model m1 is active (was None)\n",
    )
    assert cli(database_url, "models", "promote", "m2", "--reason", "better", "--by", "root")[0] == 0
    code, out = cli(database_url, "models", "rollback", "--reason", "worse on refunds", "--by", "root")
    assert (code, out) == (0, "model m1 is active again (was m2)\n")
    code, out = cli(database_url, "models", "list", "--json")
    listed = json.loads(out)
    assert [(m["version"], m["active"], m["previous_version"]) for m in listed] == [
        ("m1", True, "m2"),
        ("m2", False, "m1"),
    ]
    assert listed[0]["added_by"] == "root" and listed[0]["calibration"] == {"scale": 1.0}


def test_the_cli_policy_commands_and_their_errors(factory, database_url, tmp_path):
    good, broken, invalid = tmp_path / "good.yaml", tmp_path / "broken.yaml", tmp_path / "invalid.yaml"
    good.write_text(policy_text("p1"))
    broken.write_text("escalate_at: [not closed")
    invalid.write_text(policy_text("p2", escalate_at=500))
    add = ("policies", "add")
    assert cli(database_url, *add, str(good), "--reason", "r", "--by", "root") == (0, "added policy p1\n")
    assert cli(database_url, *add, str(good), "--reason", "r", "--by", "root") == (
        0,
        "already registered, unchanged: policy p1\n",
    )
    code, out = cli(database_url, *add, str(broken), "--reason", "r", "--by", "root")
    assert code == 2 and "is not valid YAML" in out
    code, out = cli(database_url, *add, str(invalid), "--reason", "r", "--by", "root")
    assert code == 2 and "escalate_at" in out
    code, out = cli(database_url, *add, str(tmp_path / "missing.yaml"), "--reason", "r", "--by", "root")
    assert code == 2 and "cannot read" in out
    code, out = cli(database_url, "policies", "promote", "p1", "--reason", "r", "--by", "sam")
    assert code == 2 and "'sam' is not an active admin" in out
    code, out = cli(database_url, "policies", "promote", "p9", "--reason", "r", "--by", "root")
    assert code == 2 and "no policy version 'p9' is registered" in out
    assert cli(database_url, "policies", "promote", "p1", "--reason", "r", "--by", "root")[0] == 0
    code, out = cli(database_url, "policies", "promote", "p1", "--reason", "r", "--by", "root")
    assert code == 2 and "already the active one" in out
    code, out = cli(database_url, "policies", "rollback", "--reason", "r", "--by", "root")
    assert code == 2 and "replaced no other" in out
    code, out = cli(database_url, "policies", "promote", "p1", "--reason", " ", "--by", "root")
    assert code == 2 and "a reason is required" in out
    assert cli(database_url, "policies", "show", "p1") == (0, good.read_text())


def test_the_cli_refuses_a_model_directory_without_weights(factory, database_url, tmp_path):
    path = candidate_model(tmp_path, "m1")
    (path / "model.safetensors").unlink()
    code, out = cli(database_url, "models", "add", str(path), "--reason", "r", "--by", "root")
    assert code == 2 and "no weights" in out
    with factory() as session:
        assert store.list_versions(session, "model") == []


def test_a_registered_model_directory_copied_elsewhere_keeps_its_version(factory, tmp_path):
    source = candidate_model(tmp_path, "m1")
    copy = tmp_path / "elsewhere"
    shutil.copytree(source, copy)
    with session_scope(factory) as session:
        store.add_model(session, model_candidate(source), actor=ADMIN, reason="r")
        _, created = store.add_model(session, model_candidate(copy), actor=ADMIN, reason="r")
    assert created is False  # same weights and calibration: the same version
