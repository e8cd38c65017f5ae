"""``clearline replay`` by registered version: a name that is not a path is looked up in the replayed
database's registry; a name that is neither is exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import build_app
from tests.unit.api.replay_rows import policy_yaml, seed_judged
from tests.unit.triage.fakes import FakeScorer
from triage import replay_run
from triage.audit import Actor
from triage.registry import store
from triage.registry.artifacts import model_candidate
from triage.registry.rules import InvalidCandidate, policy_candidate
from triage.storage.db import make_engine, make_session_factory, session_scope
from triage.storage.migrate import upgrade

ADMIN = Actor.system("registry")


def replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(("triage.replay_cli",)), ["replay", *args])
    return result.exit_code, result.output


def fake_model(directory: Path) -> Path:
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(b"fake weights")
    (directory / "clearline.json").write_text(json.dumps({"version": "fake-candidate"}))
    return directory


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Judged escalations (tests/unit/api/replay_rows.py), a policy with the stress weight at 30 and a
    model directory registered, neither active."""
    folder = tmp_path_factory.mktemp("replay")
    url = f"sqlite:///{folder / 'clearline.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        seed_judged(session)
        store.add_policy(session, policy_candidate(policy_yaml("stress-30", 30)), actor=ADMIN, reason="test")
        store.add_model(session, model_candidate(fake_model(folder / "model")), actor=ADMIN, reason="test")
    engine.dispose()
    return url


def report_of(*args: str) -> dict[str, Any]:
    code, output = replay(*args, "--json")
    assert code == 0, output
    report: dict[str, Any] = json.loads(output)
    return report


def test_a_registered_policy_version_is_replayed(db: str) -> None:
    report = report_of("--policy", "stress-30", "--database-url", db)
    assert report["policy"] == {
        "path": None,
        "version": "stress-30",
        "registered": True,
        "current": False,
        "current_version": "2026-12-06.3",  # the file: nothing is active in this database
    }
    assert [e["conversation_id"] for e in report["removed"]] == ["replay-waiting"]
    changed = {e["conversation_id"]: (e["current"], e["candidate"]) for e in report["priority_changed"]}
    assert changed == {"replay-stolen": (100, 88), "replay-transfer": (77, 50)}
    assert (report["precision_current"], report["precision_candidate"]) == (round(2 / 3, 4), 1.0)
    assert report["model"]["rescored"] is False


def test_a_registered_model_version_is_loaded_from_its_registered_directory(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[replay_run.ModelChoice] = []

    def load(model: replay_run.ModelChoice) -> FakeScorer:
        loaded.append(model)
        return FakeScorer()  # stress 0.05 for these texts, 0.75 for "worried"

    monkeypatch.setattr(replay_run, "load_scorer", load)
    report = report_of("--model", "fake-candidate", "--database-url", db)
    assert [(m.version, Path(m.path).name) for m in loaded] == [("fake-candidate", "model")]
    assert report["model"]["version"] == "fake-candidate" and report["model"]["rescored"] is True
    assert report["model"]["current"] is False
    # the active policy (the file) on the fake's stress: the stolen card keeps its +30 only
    assert sorted(e["conversation_id"] for e in report["removed"]) == ["replay-stolen", "replay-waiting"]


def test_a_registered_model_whose_weights_changed_is_refused(tmp_path: Path) -> None:
    path = fake_model(tmp_path / "model")
    registered = model_candidate(path)
    (path / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(InvalidCandidate, match="the weights differ from those registered as fake-candidate"):
        replay_run.load_scorer(replay_run.ModelChoice(str(path), "fake-candidate", registered.weights_digest))


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--model", "'no-such' is neither a model directory nor a registered model version"),
        ("--policy", "'no-such' is neither a policy file nor a registered policy version"),
    ],
)
def test_a_name_that_is_neither_a_path_nor_a_registered_version(db: str, option: str, said: str) -> None:
    code, output = replay(option, "no-such", "--database-url", db)
    assert code == 2
    assert said in output
