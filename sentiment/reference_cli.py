"""``clearline reference-emotions``: store the model's reference distribution with the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    @app.command("reference-emotions")
    def reference_emotions(
        model_dir: Annotated[
            Path | None, typer.Option(help="model directory (default CLEARLINE_MODEL_DIR)")
        ] = None,
        tsv: Annotated[
            Path | None,
            typer.Option(
                help="texts to score, GoEmotions TSV or one text per line (default: GoEmotions dev)"
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the reference as JSON")] = False,
    ) -> None:
        """Score a data set (by default the model's dev set, GoEmotions dev) and store the distribution of
        its stress scores and predicted labels in the model's clearline.json, the reference that
        ``clearline drift`` compares production against."""
        from sentiment.errors import DatasetError, ModelNotLoaded
        from sentiment.goemotions import goemotions_dir
        from sentiment.model import load_model
        from sentiment.reference import reference_from_scores, write_reference
        from sentiment.settings import SentimentSettings

        directory = (model_dir or SentimentSettings().model_dir).resolve()
        try:
            source = tsv or goemotions_dir() / "dev.tsv"
            lines = source.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError, DatasetError) as exc:
            raise _fail(f"cannot read the texts: {exc}") from exc
        # a line without a tab that starts with "#" is a comment (a TSV's first field may start with "#")
        texts = [line.split("\t")[0] for line in lines if line.strip() and ("\t" in line or line[0] != "#")]
        if not texts:
            raise _fail(f"{source}: no texts")
        try:
            model = load_model(directory)
        except ModelNotLoaded as exc:
            raise _fail(str(exc)) from exc
        reference = reference_from_scores(model.score(texts), source=f"{source.parent.name}/{source.name}")
        write_reference(directory, reference)
        if as_json:
            typer.echo(json.dumps(reference))
        else:
            typer.echo(
                f"{directory}: reference of {reference['n']} texts from {source.name}, "
                f"flag rate {reference['flag_rate']:.3f}"
            )
