"""The ``clearline`` command. Each package registers its own subcommands; this module only assembles."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Clearline: support assistant with explainable stress triage.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print figures as JSON.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

# Each module defines ``register(app, bench_app)``; imports inside commands stay lazy so that
# ``clearline --help`` does not import torch.
_COMMAND_MODULES = ("sentiment.cli", "nlu.cli", "triage.cli", "api.admin_cli", "api.stack_cli")

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a package still being written must not break the others
        if exc.name != _name:
            raise
        continue
    _module.register(app, bench_app)


def main() -> None:
    app()
