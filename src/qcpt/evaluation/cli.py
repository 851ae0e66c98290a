"""``qcpt evaluate``: score a TREC run file against qrels and print / save the metrics;
``qcpt fuse``: fuse run files (reciprocal rank fusion, or the best score across shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qcpt.errors import QcptError
from qcpt.evaluation.metrics import DEFAULT_MEASURES, evaluate_run
from qcpt.evaluation.report import metrics_table
from qcpt.evaluation.runs import RRF_K, merge_runs, read_run, reciprocal_rank_fusion, write_run
from qcpt.utils.io import write_json


def evaluate_command(
    qrels: Annotated[
        Path, typer.Argument(help="Qrels: BEIR tsv (with header) or TREC qrels.", exists=True)
    ],
    run: Annotated[
        Path, typer.Argument(help="TREC run file (qid Q0 docid rank score tag).", exists=True)
    ],
    measures: Annotated[
        list[str] | None,
        typer.Option(
            "--measure",
            help="ir-measures name, repeatable (e.g. --measure nDCG@10 --measure "
            "'R(rel=2)@1000'). "
            f"Default: {' '.join(DEFAULT_MEASURES)}.",
            show_default=False,
        ),
    ] = None,
    min_relevance: Annotated[
        int | None,
        typer.Option(
            "--min-relevance",
            help="Lowest grade counted relevant by binary measures "
            "(default: 2 for TREC DL qrels, found by the data set folder's name, else "
            "1, as eval-model).",
            show_default=False,
        ),
    ] = None,
    ignore_identical_ids: Annotated[
        bool,
        typer.Option("--ignore-identical-ids", help="Drop run entries whose docid equals the qid."),
    ] = False,
    per_query: Annotated[
        bool, typer.Option("--per-query", help="Also show (and save) per-query values.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the metrics as JSON here.")
    ] = None,
) -> None:
    """Evaluate a run with ir-measures; every qrels query counts (no results = 0)."""
    # imported here so the evaluation package stands alone
    from qcpt.data import default_min_relevance, load_qrels

    if output is not None and output.is_dir():  # say so before the work, not after it
        raise QcptError(f"--output {output} is a folder; give the JSON file to write")
    if min_relevance is None:  # qrels/<split>.tsv inside the data set's folder, or beside it
        folder = qrels.resolve().parent
        min_relevance = default_min_relevance(
            folder.parent.name if folder.name.endswith("qrels") else folder.name
        )
    judgments = load_qrels(qrels)
    ranking = read_run(run)
    result = evaluate_run(
        judgments,
        ranking,
        list(measures) if measures else DEFAULT_MEASURES,
        min_relevance=min_relevance,
        ignore_identical_ids=ignore_identical_ids,
        per_query=per_query,
    )

    console = Console()
    if result.per_query is not None:
        console.print(
            metrics_table(result.per_query, title="per query", highlight_best=False, label="query")
        )
    console.print(metrics_table({run.name: result.aggregate}, title=f"{run.name} vs {qrels.name}"))
    console.print(
        f"{result.num_queries} queries evaluated, "
        f"{result.num_queries_without_results} without results (scored 0), "
        f"{result.num_run_queries_not_in_qrels} run queries not in the qrels (ignored)"
    )
    if result.num_queries_without_results == result.num_queries:
        console.print("[yellow]warning: no run query matches a qrels query; check the ids[/yellow]")
    if output is not None:
        data = {"qrels": str(qrels), "run": str(run), **result.to_json()}
        write_json(output, data)
        console.print(f"metrics written to {output}", markup=False)


FUSION_METHODS = ("rrf", "max")


def fuse_command(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Two or more TREC run files of the same queries.", exists=True),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Fused TREC run to write.")],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="rrf: reciprocal rank fusion, sum of 1 / (k + rank) over the runs (e.g. BM25 + "
            "dense); max: each document's best score (runs of one model over corpus shards, "
            "whose scores compare).",
        ),
    ] = "rrf",
    rrf_k: Annotated[
        int, typer.Option("--rrf-k", min=1, help="The k of reciprocal rank fusion.")
    ] = RRF_K,
    depth: Annotated[int, typer.Option("--depth", min=1, help="Documents kept per query.")] = 1000,
    tag: Annotated[str, typer.Option("--tag", help="Run tag (6th column).")] = "fused",
) -> None:
    """Fuse TREC runs (reciprocal rank fusion, or best score for shards) into one run file."""
    if method not in FUSION_METHODS:
        raise QcptError(f"--method {method!r}: choose one of {', '.join(FUSION_METHODS)}")
    if len(runs) < 2:
        raise QcptError(f"give at least two run files to fuse (got {len(runs)})")
    if output.is_dir():
        raise QcptError(f"--output {output} is a folder; give the run file to write")
    rankings = [read_run(path) for path in runs]
    if method == "rrf":
        fused = reciprocal_rank_fusion(rankings, k=rrf_k, depth=depth)
    else:
        fused = merge_runs(rankings, depth=depth)
    write_run(fused, output, tag=tag, depth=depth)
    Console(stderr=True).print(
        f"wrote {output} ({len(fused)} queries, {method} of {len(runs)} runs)", markup=False
    )
