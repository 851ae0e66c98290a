"""The ``qcpt`` command line: one thin sub-command per stage; the work lives in the stages."""

from __future__ import annotations

import logging
import os
import sys

import typer

from qcpt.errors import QcptError

app = typer.Typer(
    name="qcpt",
    help="Query-as-context pre-training, fine-tuning and evaluation of dense retrievers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    if app.registered_commands:  # once a process: main() may run again in-process (tests)
        return
    from qcpt.data.cli import data_app
    from qcpt.evaluation.cli import evaluate_command, fuse_command
    from qcpt.finetune.cli import build_train_command, finetune_command, mine_command
    from qcpt.pipeline.cli import adapt_command, demo_command, eval_model_command, run_command
    from qcpt.pretrain.cli import pretrain_command
    from qcpt.querygen.cli import (
        filter_queries_command,
        generate_queries_command,
        merge_queries_command,
        querygen_report_command,
        split_passages_command,
    )
    from qcpt.retrieval.cli import bm25_command, encode_command, index_command, search_command

    app.add_typer(data_app, name="data", help="Inspect data sets.")
    app.command("bm25")(bm25_command)
    app.command("encode")(encode_command)
    app.command("index")(index_command)
    app.command("search")(search_command)
    app.command("evaluate")(evaluate_command)
    app.command("fuse")(fuse_command)
    app.command("eval-model")(eval_model_command)
    app.command("demo")(demo_command)
    app.command("run")(run_command)
    app.command("adapt")(adapt_command)
    app.command("build-train")(build_train_command)
    app.command("mine")(mine_command)
    app.command("finetune")(finetune_command)
    app.command("pretrain")(pretrain_command)
    app.command("split-passages")(split_passages_command)
    app.command("generate-queries")(generate_queries_command)
    app.command("merge-queries")(merge_queries_command)
    app.command("filter-queries")(filter_queries_command)
    app.command("querygen-report")(querygen_report_command)


def main() -> None:
    """Entry point: run the app and turn user-facing errors into one line and exit status 2."""
    from rich.logging import RichHandler

    # qcpt reports progress at INFO; libraries (faiss, bm25s, transformers) only when it matters
    logging.basicConfig(
        level=logging.WARNING,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(level=logging.INFO, show_time=False, show_path=False)],
    )
    logging.getLogger("qcpt").setLevel(logging.INFO)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    _register()
    debug = os.environ.get("QCPT_DEBUG", "").lower() not in ("", "0", "false", "no")
    try:
        result = app(standalone_mode=False)
    except QcptError as error:
        if debug:
            raise
        typer.secho(f"error: {_one_line(str(error))}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except OSError as error:  # output paths: read-only folder, a file where a folder must be...
        if debug or error.filename is None:
            raise
        names = " -> ".join(str(n) for n in (error.filename, error.filename2) if n)
        typer.secho(f"error: {names}: {error.strerror or error}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except _click_exceptions() as error:  # usage errors: standalone_mode=False passes them on
        if debug:
            raise
        typer.secho(f"error: {_usage_message(error)}", fg=typer.colors.RED, err=True)
        sys.exit(2 if error.exit_code in (1, 2) else error.exit_code)
    if isinstance(result, int) and result:  # click returns the exit code of --help and such
        sys.exit(result)


def _one_line(message: str) -> str:
    """A message that quotes a library's multi-line text (transformers' loading errors) as one
    line: its lines joined with spaces."""
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _click_exceptions() -> tuple[type[Exception], ...]:
    """click's exception base and typer's vendored copy of it (typer >= 0.20 raises its own)."""
    import click

    found: list[type[Exception]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as vendored
    except ImportError:  # older typer: plain click
        return tuple(found)
    return (*found, vendored)


def _usage_message(error: Exception) -> str:
    """``qcpt bm25: Missing parameter: dataset (qcpt bm25 --help)``: one line."""
    message = " ".join(str(error.format_message()).split())
    context = getattr(error, "ctx", None)
    if context is None:
        return message
    return f"{context.command_path}: {message} (see {context.command_path} --help)"
