"""Start the Rasa server for Clearline (run with .venv-rasa's python, from anywhere).

    .venv-rasa/bin/python bot/serve.py [extra `rasa run` arguments, e.g. --port 5005]

Rasa refuses a `${VAR}` in endpoints.yml or credentials.yml that is not set, so this launcher
- fills the endpoint variables with the embedded SQLite defaults when they are unset, and maps a
  `postgresql+psycopg://` URL (Clearline's driver) to the psycopg2 driver Rasa's environment has;
- adds Telegram, Slack and Twilio from credentials.channels.yml only when all of that channel's
  variables are set (data/runtime/credentials.effective.yml);
- protects Rasa's HTTP API with CLEARLINE_RASA_TOKEN (the demo default is refused outside demo mode);
- with CLEARLINE_RASA_LOCK_STORE_URL (redis://host:port/db) adds Rasa's Redis lock store, which lets
  CLEARLINE_RASA_WORKERS > 1 run several Rasa processes behind the one port (Sanic workers; a
  conversation's messages are still handled one at a time, across processes);
- publishes events to Rasa's SQL event broker, or with CLEARLINE_EVENT_BROKER=rabbitmq to RabbitMQ through
  clearline_broker.ClearlineEventBroker (bot/endpoints.rabbitmq.yml), after checking that RabbitMQ is
  reachable and has the topology `clearline broker setup` declares (it refuses to start otherwise);
- stores through privacy_store.RedactingSQLTrackerStore (nothing personal in Rasa's tracker store or event
  broker), refusing to start when it does not import or CLEARLINE_PII_KEY is missing outside demo mode;
- applies Clearline's patches to Rasa's hot path (rasa_patches.py; CLEARLINE_RASA_PATCHES=off for stock
  Rasa) and runs Rasa in this process.
"""

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from actions.sealing import demo_mode
from clearline_files import load

topology = load("triage/rabbitmq_topology.py")

BOT_DIR = Path(__file__).resolve().parent
RUNTIME_DIR = BOT_DIR.parent / "data" / "runtime"
EFFECTIVE_ENDPOINTS = RUNTIME_DIR / "endpoints.effective.yml"
DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105 - the same demo default as Clearline's settings
EVENT_BROKERS = ("sql", "rabbitmq")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def endpoint_defaults() -> dict[str, str]:
    return {
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{RUNTIME_DIR / 'rasa_tracker.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{RUNTIME_DIR / 'rasa_events.db'}",
        "CLEARLINE_ACTION_URL": "http://127.0.0.1:5055/webhook",
        # read only with CLEARLINE_EVENT_BROKER=rabbitmq (bot/endpoints.rabbitmq.yml)
        "CLEARLINE_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
        "CLEARLINE_RABBITMQ_PARTITIONS": str(topology.DEFAULT_PARTITIONS),
    }


def rasa_database_url(url: str) -> str:
    """The same database for Rasa's SQLAlchemy 1.4 + psycopg2 environment."""
    return re.sub(r"^postgresql\+psycopg(?=://)", "postgresql", url)


def endpoint_environment(environ: Mapping[str, str]) -> dict[str, str]:
    values = {name: environ.get(name) or default for name, default in endpoint_defaults().items()}
    for name in ("CLEARLINE_RASA_TRACKER_URL", "CLEARLINE_EVENTS_URL"):
        values[name] = rasa_database_url(values[name])
        if values[name].startswith("sqlite:///"):
            Path(values[name][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return values


def configured_channels(channels: dict[str, dict], environ: Mapping[str, str]) -> dict[str, dict]:
    """The channels whose every ${VAR} is set in the environment."""
    chosen = {}
    for name, settings in channels.items():
        needed = _VARIABLE.findall(yaml.safe_dump(settings))
        if needed and all(environ.get(variable) for variable in needed):
            chosen[name] = settings
    return chosen


def write_credentials(environ: Mapping[str, str], out: Path) -> Path:
    base = yaml.safe_load((BOT_DIR / "credentials.yml").read_text()) or {}
    optional = yaml.safe_load((BOT_DIR / "credentials.channels.yml").read_text()) or {}
    base.update(configured_channels(optional, environ))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(base, sort_keys=False))
    return out


def lock_store_endpoint(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise SystemExit(f"error: CLEARLINE_RASA_LOCK_STORE_URL must be redis://host:port/db, not {url!r}")
    database = parts.path.lstrip("/") or "1"
    if not database.isdigit():
        raise SystemExit(
            f"error: CLEARLINE_RASA_LOCK_STORE_URL: the database must be a number, not {database!r}"
        )
    endpoint = {
        # not Rasa's "redis" store: its ticket queue is read-modify-write, so two servers can both take a
        # conversation's lock at once (bot/concurrent_lock_store.py)
        "type": "concurrent_lock_store.ConcurrentRedisLockStore",
        "url": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": int(database),
        "use_ssl": parts.scheme == "rediss",
        "key_prefix": "clearline",
    }
    if parts.password:
        endpoint["password"] = parts.password
    return endpoint


def event_broker_kind(environ: Mapping[str, str]) -> str:
    value = environ.get("CLEARLINE_EVENT_BROKER", "").strip().lower() or "sql"
    if value not in EVENT_BROKERS:
        choices = ", ".join(EVENT_BROKERS)
        raise SystemExit(f"error: CLEARLINE_EVENT_BROKER must be one of {choices}, not {value!r}")
    return value


def write_endpoints(environ: Mapping[str, str], out: Path) -> Path:
    """endpoints.yml, with RabbitMQ's event broker and the lock store when they are configured (their
    ${VAR}s are left to Rasa)."""
    endpoints = yaml.safe_load((BOT_DIR / "endpoints.yml").read_text()) or {}
    if event_broker_kind(environ) == "rabbitmq":
        rabbitmq = yaml.safe_load((BOT_DIR / "endpoints.rabbitmq.yml").read_text())
        endpoints["event_broker"] = rabbitmq["event_broker"]
    if environ.get("CLEARLINE_RASA_LOCK_STORE_URL"):
        endpoints["lock_store"] = lock_store_endpoint(environ["CLEARLINE_RASA_LOCK_STORE_URL"])
    out.parent.mkdir(parents=True, exist_ok=True)
    # replaced in one step: a second Rasa server starting at the same moment must never read a half-written
    # file (it would start without the lock store or the broker)
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    partial.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    os.replace(partial, out)
    return out


def sanic_workers(environ: Mapping[str, str]) -> str:
    value = environ.get("CLEARLINE_RASA_WORKERS", "1").strip()
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:  # str.isdigit takes "²", which int() refuses
        raise SystemExit(f"error: CLEARLINE_RASA_WORKERS must be a whole number >= 1, not {value!r}")
    if int(value) > 1 and not environ.get("CLEARLINE_RASA_LOCK_STORE_URL"):
        raise SystemExit(
            "error: CLEARLINE_RASA_WORKERS > 1 needs CLEARLINE_RASA_LOCK_STORE_URL (redis://host:port/db): "
            "Rasa's in-memory lock cannot keep a conversation's messages in order across processes"
        )
    return str(int(value))


def api_token(environ: Mapping[str, str]) -> str:
    token = environ.get("CLEARLINE_RASA_TOKEN", DEMO_SECRET)
    demo = demo_mode(environ)
    if token == DEMO_SECRET and not demo:
        raise SystemExit("error: set CLEARLINE_RASA_TOKEN (the demo token is refused unless CLEARLINE_DEMO)")
    return token


def rasa_command(environ: Mapping[str, str], extra: list[str]) -> list[str]:
    credentials = write_credentials(environ, RUNTIME_DIR / "credentials.effective.yml")
    endpoints = write_endpoints(environ, EFFECTIVE_ENDPOINTS)
    return [
        str(Path(sys.executable).parent / "rasa"),
        "run",
        "--enable-api",
        "--auth-token", api_token(environ),
        "--cors", "*",
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
        *extra,
    ]  # fmt: skip


def check_event_broker(endpoints: Path) -> None:
    """With RabbitMQ, connect and check the topology as Rasa will, and stop here with one line when that
    fails (Rasa itself refuses too, with a traceback from inside its server's start-up)."""
    import asyncio

    from rasa.utils.endpoints import read_endpoint_config

    import clearline_broker

    config = read_endpoint_config(str(endpoints), "event_broker")
    if config is None or config.type != "clearline_broker.ClearlineEventBroker":
        return
    try:
        asyncio.run(clearline_broker.check_broker(config))
    except clearline_broker.BrokerNotReady as exc:
        raise SystemExit(f"error: {exc}") from None


def patches_wanted(environ: Mapping[str, str]) -> bool:
    value = environ.get("CLEARLINE_RASA_PATCHES", "on").strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise SystemExit(f"error: CLEARLINE_RASA_PATCHES must be on or off, not {value!r}")
    return value in ("on", "true", "1")


def main() -> None:
    os.environ.update(endpoint_environment(os.environ))
    os.environ["SANIC_WORKERS"] = sanic_workers(os.environ)  # Rasa reads it; > 1 only with a lock store
    command = rasa_command(os.environ, sys.argv[1:])
    os.chdir(BOT_DIR)
    # Rasa falls back to an in-memory tracker store, with a warning only, when the configured class does
    # not import: import it here so that a missing dependency stops the server instead of losing data.
    import privacy_store  # noqa: F401
    from actions.sealing import SealingKeyMissing, pii_secret

    try:
        pii_secret(os.environ)  # outside demo mode CLEARLINE_PII_KEY must be set before anything is sealed
    except SealingKeyMissing as exc:
        raise SystemExit(f"error: {exc}") from None
    check_event_broker(EFFECTIVE_ENDPOINTS)
    patched = patches_wanted(os.environ)
    if patched:
        import rasa_patches

        applied = rasa_patches.apply()
        print(f"Clearline's Rasa patches: {', '.join(applied) or 'none (stock Rasa)'}", flush=True)
    import message_slots

    # stock Rasa (patches off) interleaves every message unless slots are asked for
    slots = message_slots.slots_wanted(os.environ, message_slots.DEFAULT_SLOTS if patched else 0)
    if message_slots.limit_messages_in_progress(slots):
        print(f"Customer messages in progress at once: at most {slots}", flush=True)
    # Rasa's own entry point, in this process, so that the patches above are in effect.
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *command[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
