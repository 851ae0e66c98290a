"""``qcpt split-passages | generate-queries | merge-queries | filter-queries | querygen-report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qcpt.querygen.config import QueryGenConfig
from qcpt.utils.cli import (
    DataDirOpt,
    DeviceOpt,
    OverwriteOpt,
    QuietOpt,
    recipe_option,
    recipe_overrides,
)

console = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML recipe (configs/querygen-*.yaml); options override it."
    ),
]
PassagesArg = Annotated[
    str,
    typer.Argument(
        help="Passages jsonl (from split-passages), a corpus file, or a data set used as is."
    ),
]


def _validated(model_class, base, overrides: dict):
    """``base`` updated with the options given (not None), validated as ``model_class``."""
    from pydantic import ValidationError

    from qcpt.errors import QcptError
    from qcpt.utils.config import validation_problems

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return model_class.model_validate({**base.model_dump(), **given})
    except ValidationError as error:
        raise QcptError(f"bad option: {validation_problems(error)}") from None


def split_passages_command(
    corpus: Annotated[
        str, typer.Argument(help="Corpus file (corpus.jsonl, collection.tsv) or data set.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Passages jsonl to write.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Tokens per passage at most (144).")
    ] = None,
    short_probability: Annotated[
        float | None,
        typer.Option("--short-probability", help="Chance of a shorter random target (0.15)."),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="Tokenizer of the target encoder (all-MiniLM-L6-v2)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the target lengths.")] = None,
    as_is: Annotated[
        bool, typer.Option("--as-is", help="Use each document as one passage (no splitting).")
    ] = False,
) -> None:
    """Cut documents into passages of whole sentences and write passages jsonl with doc_id."""
    from qcpt.data import iter_corpus, resolve_dataset
    from qcpt.data.passages import passages_as_is, write_passages
    from qcpt.querygen.config import QueryGenConfig
    from qcpt.querygen.passages import PassageSettings, PassageSplitter, split_documents

    path = Path(corpus).expanduser()
    documents = (
        iter_corpus(path) if path.is_file() else resolve_dataset(corpus, data_dir).iter_corpus()
    )
    if as_is:
        passages = passages_as_is(documents)
    else:
        settings = _validated(
            PassageSettings,
            QueryGenConfig.from_yaml(config).passages,
            {
                "max_tokens": max_tokens,
                "short_probability": short_probability,
                "tokenizer": tokenizer,
                "seed": seed,
            },
        )
        passages = split_documents(documents, PassageSplitter(settings))
    count = write_passages(output, passages)
    console.print(f"wrote {output} ({count} passages)")


def _generation_option(key: str, *flags: str, **option):
    return recipe_option(QueryGenConfig, f"generation.{key}", *flags, **option)


BackendOpt = _generation_option("backend", "--backend")
GeneratorOpt = _generation_option("model", "--model", "-m")
RuntimeOpt = _generation_option("runtime", "--runtime")
NumQueriesOpt = _generation_option("num_queries", "--num-queries", "-n")
TopKOpt = _generation_option("top_k", "--top-k")
TopPOpt = _generation_option("top_p", "--top-p")
TemperatureOpt = _generation_option("temperature", "--temperature")
MaxNewTokensOpt = _generation_option("max_new_tokens", "--max-new-tokens")
InputPrefixOpt = _generation_option("input_prefix", "--input-prefix")
PromptOpt = _generation_option("prompt", "--prompt")
WithTitleOpt = _generation_option("with_title", "--with-title/--text-only")
GenerationBatchOpt = _generation_option("batch_size", "--batch-size")
ParallelOpt = _generation_option("parallel", "--parallel")
GenerationDeviceOpt = _generation_option("device", "--device")
GenerationPrecisionOpt = _generation_option("precision", "--precision")
ThreadsOpt = _generation_option("threads", "--threads")
SamplingSeedOpt = _generation_option("seed", "--seed")
QueriesFileOpt = _generation_option("queries_files", "--queries-file")
FileFormatOpt = _generation_option("file_format", "--file-format")
QrelsFileOpt = _generation_option("qrels", "--qrels")
CleanOpt = _generation_option("clean.enabled", "--clean/--no-clean")


def generate_queries_command(
    passages: PassagesArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Generated-queries jsonl.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    backend: BackendOpt = None,
    model: GeneratorOpt = None,
    runtime: RuntimeOpt = None,
    num_queries: NumQueriesOpt = None,
    top_k: TopKOpt = None,
    top_p: TopPOpt = None,
    temperature: TemperatureOpt = None,
    max_new_tokens: MaxNewTokensOpt = None,
    input_prefix: InputPrefixOpt = None,
    prompt: PromptOpt = None,
    with_title: WithTitleOpt = None,
    batch_size: GenerationBatchOpt = None,
    parallel: ParallelOpt = None,
    device: GenerationDeviceOpt = None,
    precision: GenerationPrecisionOpt = None,
    threads: ThreadsOpt = None,
    seed: SamplingSeedOpt = None,
    queries_file: QueriesFileOpt = None,
    file_format: FileFormatOpt = None,
    qrels: QrelsFileOpt = None,
    clean: CleanOpt = None,
    shard: Annotated[
        str | None, typer.Option("--shard", help="k/n: generate shard k of n (0-based).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N passages.")
    ] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate pseudo-queries for passages (resumable, shardable) and write jsonl + sidecar."""
    from qcpt.data.passages import load_passages
    from qcpt.querygen.backends import create_generator
    from qcpt.querygen.generate import generate_queries
    from qcpt.utils.cli import parse_part

    overrides = recipe_overrides(generate_queries_command, locals())
    settings = QueryGenConfig.from_yaml(config, overrides).generation
    shard_spec = parse_part(shard, "--shard")
    items = load_passages(passages, data_dir)[:limit]
    source = str(Path(passages).resolve()) if Path(passages).exists() else passages
    generator = create_generator(settings, [p.id for p in items])
    summary = generate_queries(
        items,
        generator,
        settings,
        output,
        source=source,
        shard=shard_spec,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    counts = summary.counts
    dropped = ", ".join(
        f"{k[8:]} {v}" for k, v in sorted(counts.items()) if k.startswith("dropped_")
    )
    console.print(
        f"wrote {summary.output}: {summary.written} passages now, {summary.resumed} resumed, "
        f"{summary.queries} queries in {summary.seconds:.1f}s "
        f"({summary.queries_per_second:.2f} queries/s); kept {counts['kept']} of "
        f"{counts['generated']} generated" + (f" (dropped: {dropped})" if dropped else "")
    )


def merge_queries_command(
    output: Annotated[Path, typer.Argument(help="Output that the shards were generated for.")],
    passages: Annotated[
        str | None,
        typer.Option("--passages", help="Passages that fix the order (default: the recorded)."),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Merge the shards <output stem>.shard-<k>-of-<n>.jsonl into OUTPUT, in passage order."""
    from qcpt.data.passages import load_passages
    from qcpt.querygen.writer import find_shards, merge_shards, shard_sidecar

    recorded = shard_sidecar(find_shards(output)[0])["settings"]["passages"]
    order = [p.id for p in load_passages(passages or recorded["source"], data_dir)]
    order = order[: recorded["count"]]  # a run with --limit covered the first passages only
    counts = merge_shards(output, order)
    console.print(f"wrote {output} ({len(order)} passages, {counts.get('kept', 0)} queries)")


def filter_queries_command(
    queries: Annotated[Path, typer.Argument(help="Generated-queries jsonl.")],
    passages: PassagesArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Filtered queries jsonl.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    scorer: Annotated[
        str | None,
        typer.Option("--scorer", help="bm25 or a dense encoder (default all-MiniLM-L6-v2)."),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", help="Keep if the source passage ranks in the top k (10).")
    ] = None,
    sample_size: Annotated[
        int | None,
        typer.Option("--sample-size", help="Rank among this many passages (default: all)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Encoder batch.")] = None,
    device: DeviceOpt = None,
    precision: Annotated[
        str | None, typer.Option("--precision", help="Encoder: fp32 or bf16.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Keep only queries whose source passage a retriever ranks within the top k."""
    from qcpt.data.generated_queries import read_queries, read_sidecar, sidecar_path
    from qcpt.data.passages import load_passages
    from qcpt.querygen.config import ConsistencySettings, QueryGenConfig
    from qcpt.querygen.filters import consistency_filter
    from qcpt.utils.io import write_json, write_jsonl

    settings = _validated(
        ConsistencySettings,
        QueryGenConfig.from_yaml(config).consistency,
        {
            "scorer": scorer,
            "k": k,
            "sample_size": sample_size,
            "batch_size": batch_size,
            "device": device,
            "precision": precision,
        },
    )
    records = read_queries(queries)
    meta = read_sidecar(queries)  # a bad sidecar fails before the work, not after the output
    kept, counts = consistency_filter(
        records, load_passages(passages, data_dir), settings, show_progress=not quiet
    )
    write_jsonl(output, ({"_id": pid, "queries": texts} for pid, texts in kept.items()))
    meta["consistency_filter"] = {**settings.model_dump(), "counts": dict(counts)}
    meta["filtered_from"] = str(Path(queries).resolve())
    write_json(sidecar_path(output), meta)
    console.print(
        f"wrote {output}: kept {counts['kept']} of {counts['checked']} queries "
        f"(dropped {counts['dropped_inconsistent']} whose passage ranked below {settings.k} "
        f"among {counts['pool']} passages)"
    )


def querygen_report_command(
    passages: PassagesArg,
    queries: Annotated[
        list[str],
        typer.Argument(help="Generated-queries files, each as PATH or LABEL=PATH."),
    ],
    data_dir: DataDirOpt = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Data set whose real queries are the reference row."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of the reference queries.")] = (
        "train"
    ),
    max_queries: Annotated[
        int | None,
        typer.Option("--max-queries", help="Self-retrieval on a sample of this many queries."),
    ] = None,
    examples: Annotated[int, typer.Option("--examples", help="Example passages to show.")] = 3,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the report as markdown.")
    ] = None,
) -> None:
    """Quality of generated queries: length, distinct ratio, BM25 self-retrieval vs real queries."""
    from qcpt.data import resolve_dataset
    from qcpt.data.generated_queries import read_queries, read_sidecar
    from qcpt.data.passages import load_passages
    from qcpt.evaluation import metrics_markdown, metrics_table
    from qcpt.querygen.report import (
        examples_markdown,
        generated_row,
        passage_index,
        reference_row,
        sample_examples,
    )
    from qcpt.utils.cli import check_output_file
    from qcpt.utils.io import write_text

    check_output_file(output)
    items = load_passages(passages, data_dir)
    index = passage_index(items)
    sources = {}
    for spec in queries:
        label, _, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        sources[label or _label(path, read_sidecar(path))] = read_queries(path)
    rows = {
        name: generated_row(records, items, index, max_queries) for name, records in sources.items()
    }
    if reference:
        dataset = resolve_dataset(reference, data_dir)
        rows[f"{dataset.name} {split} queries (real)"] = reference_row(dataset, split)
    results = {name: row.figures for name, row in rows.items()}
    console.print(
        metrics_table(results, "Generated-query quality", highlight_best=False, label="queries")
    )
    counts = "\n".join(
        f"- {name}: {row.queries} queries measured, {row.passages} passages/documents with "
        f"queries, BM25 over {row.pool} candidates"
        for name, row in rows.items()
    )
    console.print(counts)
    shown = examples_markdown(sample_examples(items, sources, examples))
    console.print(shown, markup=False)
    if output is not None:
        table = metrics_markdown(
            results, "Generated-query quality", highlight_best=False, label="queries"
        )
        write_text(output, f"{table}\n{counts}\n\n### Examples\n\n{shown}")
        console.print(f"wrote {output}")


def _label(path: str, meta: dict) -> str:
    """A row label from the sidecar: backend, runtime and model; the file name otherwise."""
    generator = meta.get("generator") or {}
    if generator.get("backend") in (None, "file"):
        return Path(path).name
    runtime = f" ({generator['runtime']})" if generator.get("runtime") else ""
    return f"{generator['backend']}{runtime} {generator.get('model', '')}".strip()
