"""``qcpt data``: commands to inspect data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from qcpt.data.datasets import resolve_dataset
from qcpt.data.stats import dataset_stats, render_stats
from qcpt.errors import QcptError
from qcpt.utils.io import write_json

data_app = typer.Typer(no_args_is_help=True)


# The callback keeps "stats" a sub-command: typer collapses an app with one command and no callback.
@data_app.callback()
def data_group() -> None:
    """Inspect data sets."""


@data_app.command("stats")
def stats_command(
    dataset: Annotated[str, typer.Argument(help="BEIR name (e.g. scifact) or dataset folder.")],
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder holding <name>/ data sets.")
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="Hugging Face tokenizer (path or id) to count tokens."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the statistics to this JSON file.")
    ] = None,
) -> None:
    """Print sizes, length percentiles and qrels coverage of a data set."""
    stats = dataset_stats(
        resolve_dataset(dataset, data_dir),
        tokenizer=_load_tokenizer(tokenizer) if tokenizer else None,
    )
    console = Console()
    console.print(render_stats(stats))
    if json_path is not None:
        write_json(json_path, stats)
        console.print(f"wrote {json_path}")


def _load_tokenizer(name_or_path: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as error:
        raise QcptError(f"cannot load tokenizer {name_or_path!r}: {error}") from None
