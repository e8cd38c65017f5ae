"""Start the Rasa server for Clearline (run with .venv-rasa's python, from anywhere).

    .venv-rasa/bin/python bot/serve.py [extra `rasa run` arguments, e.g. --port 5005]

Rasa refuses a `${VAR}` in endpoints.yml or credentials.yml that is not set, so this launcher
- fills the endpoint variables with the embedded SQLite defaults when they are unset, and maps a
  `postgresql+psycopg://` URL (Clearline's driver) to the psycopg2 driver Rasa's environment has;
- adds Telegram, Slack and Twilio from credentials.channels.yml only when all of that channel's
  variables are set (data/runtime/credentials.effective.yml);
- protects Rasa's HTTP API with CLEARLINE_RASA_TOKEN (the demo default is refused outside demo mode);
- applies Clearline's patches to Rasa's hot path (rasa_patches.py; CLEARLINE_RASA_PATCHES=off for stock
  Rasa) and runs Rasa in this process.
"""

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

BOT_DIR = Path(__file__).resolve().parent
RUNTIME_DIR = BOT_DIR.parent / "data" / "runtime"
DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105 - the same demo default as Clearline's settings
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def endpoint_defaults() -> dict[str, str]:
    return {
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{RUNTIME_DIR / 'rasa_tracker.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{RUNTIME_DIR / 'rasa_events.db'}",
        "CLEARLINE_ACTION_URL": "http://127.0.0.1:5055/webhook",
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


def api_token(environ: Mapping[str, str]) -> str:
    token = environ.get("CLEARLINE_RASA_TOKEN", DEMO_SECRET)
    demo = environ.get("CLEARLINE_DEMO", "true").lower() not in ("0", "false", "no")
    if token == DEMO_SECRET and not demo:
        raise SystemExit("error: set CLEARLINE_RASA_TOKEN (the demo token is refused unless CLEARLINE_DEMO)")
    return token


def rasa_command(environ: Mapping[str, str], extra: list[str]) -> list[str]:
    credentials = write_credentials(environ, RUNTIME_DIR / "credentials.effective.yml")
    return [
        str(Path(sys.executable).parent / "rasa"),
        "run",
        "--enable-api",
        "--auth-token", api_token(environ),
        "--cors", "*",
        "--endpoints", "endpoints.yml",
        "--credentials", str(credentials),
        *extra,
    ]  # fmt: skip


def patches_wanted(environ: Mapping[str, str]) -> bool:
    value = environ.get("CLEARLINE_RASA_PATCHES", "on").strip().lower()
    if value not in ("on", "off", "true", "false", "1", "0"):
        raise SystemExit(f"error: CLEARLINE_RASA_PATCHES must be on or off, not {value!r}")
    return value in ("on", "true", "1")


def main() -> None:
    os.environ.update(endpoint_environment(os.environ))
    command = rasa_command(os.environ, sys.argv[1:])
    os.chdir(BOT_DIR)
    if patches_wanted(os.environ):
        import rasa_patches

        applied = rasa_patches.apply()
        print(f"Clearline's Rasa patches: {', '.join(applied) or 'none (stock Rasa)'}", flush=True)
    # Rasa's own entry point, in this process, so that the patches above are in effect.
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *command[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
