"""The ``clearline`` command. Each package registers its own subcommands; this module only assembles."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer

# Each module defines ``register(app, bench_app)``; imports inside commands stay lazy so that
# ``clearline --help`` does not import torch.
COMMAND_MODULES = (
    "sentiment.cli",
    "sentiment.reference_cli",
    "nlu.cli",
    "triage.cli",
    "triage.privacy_cli",
    "api.admin_cli",
    "api.stack_cli",
    "api.benchmarks",
    "triage.redaction_cli",
    "triage.replay_cli",
    "triage.monitoring.cli",
    "triage.learning.cli",
    "triage.registry.cli",
    "triage.broker_cli",
)


class CommandModuleError(RuntimeError):
    """A command module failed to import; the message names it."""


def build_app(modules: Sequence[str] = COMMAND_MODULES) -> typer.Typer:
    """The ``clearline`` app with the commands of every module in ``modules``.

    A module that fails to import stops the command with an error that names it: skipping it would
    leave its commands missing with no word why, which reads as a typo to whoever runs them.
    """
    app = typer.Typer(
        help="Clearline: support assistant with explainable stress triage.", no_args_is_help=True
    )
    bench_app = typer.Typer(help="Benchmarks that print figures as JSON.", no_args_is_help=True)
    app.add_typer(bench_app, name="bench")
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise CommandModuleError(
                f"the command module {name} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        module.register(app, bench_app)
    return app


app = build_app()


def main() -> None:
    app()
