"""``clearline`` subcommands of the NLU package: build the training data, train the bot, evaluate NLU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("eval-nlu")(eval_nlu)
    app.command("build-nlu-data")(build_nlu_data)
    app.command("train-bot")(train_bot)
    app.command(
        "train-intent-encoder",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )(train_intent_encoder)
    datasets_app = typer.Typer(help="The public datasets: where they are, fetching them when they are not.")
    datasets_app.command("fetch")(fetch_datasets)
    app.add_typer(datasets_app, name="datasets")


def fetch_datasets(
    names: Annotated[list[str] | None, typer.Argument(help="banking77, goemotions (default: both)")] = None,
) -> None:
    """Use the datasets where they are configured, else download them (sha256-checked) into the cache."""
    from nlu.datasets import main

    raise typer.Exit(main(["fetch", *(names or [])]))


def eval_nlu(
    csv: Annotated[Path, typer.Option(help="BANKING77-format csv: text,category")],
    model: Annotated[
        Path | None, typer.Option(help="Rasa model .tar.gz; default: newest in bot/models")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print {n, accuracy, macro_f1} as JSON")] = False,
) -> None:
    """Score the trained Rasa NLU model on a labelled csv (accuracy and macro-F1)."""
    from nlu.build_data import DatasetMissing
    from nlu.evaluate import ModelMissing, RasaEnvironmentMissing, evaluate

    try:
        scores = evaluate(csv, model)
    except (DatasetMissing, ModelMissing, RasaEnvironmentMissing, ValueError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(scores.as_dict()))
    else:
        typer.echo(f"n={scores.n} accuracy={scores.accuracy:.4f} macro_f1={scores.macro_f1:.4f}")


def build_nlu_data() -> None:
    """Write bot/data/generated/banking77.yml from BANKING77 train."""
    from nlu.build_data import main

    raise typer.Exit(main([]))


def train_bot(
    force: Annotated[bool, typer.Option(help="train even if a model for this content exists")] = False,
) -> None:
    """Build the NLU data and train the Rasa model (skipped when nothing changed)."""
    from nlu.train import main

    raise typer.Exit(main(["--force"] if force else []))


def train_intent_encoder(context: typer.Context) -> None:
    """Tune MiniLM's encoder layers on the bot's intents (`clearline train-intent-encoder --help`)."""
    from nlu.intent_encoder import main

    raise typer.Exit(main(context.args))
