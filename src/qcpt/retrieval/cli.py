"""``qcpt bm25 | encode | index | search``: thin drivers over :mod:`qcpt.retrieval`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qcpt.encoder.checkpoints import DEFAULT_MODEL
from qcpt.errors import QcptError
from qcpt.retrieval.encoder import EncoderSettings
from qcpt.utils.cli import (
    BatchOpt,
    DataDirOpt,
    DatasetArg,
    DepthOpt,
    DeviceOpt,
    FactoryOpt,
    ModelLenOpt,
    ModelOpt,
    NormalizeOpt,
    PassageLenOpt,
    PassagePrefixOpt,
    PoolingOpt,
    PrecisionOpt,
    QueryLenOpt,
    QueryPrefixOpt,
    QuietOpt,
    SplitOpt,
    parse_part,
    with_options,
)

console = Console(stderr=True)


# the encoder options every dense command shares (encode, eval-model, mine): name -> (option
# type, default); a command decorated with with_encoder_options receives them as encoder_options
ENCODER_OPTIONS = {
    "pooling": (PoolingOpt, None),
    "normalize": (NormalizeOpt, None),
    "query_max_length": (QueryLenOpt, None),
    "passage_max_length": (PassageLenOpt, None),
    "model_max_length": (ModelLenOpt, False),
    "query_prefix": (QueryPrefixOpt, None),
    "passage_prefix": (PassagePrefixOpt, None),
    "batch_size": (BatchOpt, 32),
    "precision": (PrecisionOpt, "fp32"),
    "device": (DeviceOpt, "auto"),
}
with_encoder_options = with_options(ENCODER_OPTIONS, "encoder_options")


def encoder_settings(model: str, **options) -> EncoderSettings:
    """Build :class:`EncoderSettings` for ``model`` from the shared command-line options (see
    :func:`with_encoder_options`); a bad value is a ``QcptError`` naming the option."""
    from pydantic import ValidationError

    from qcpt.utils.config import validation_problems

    options = dict(options)
    options["use_model_max_length"] = bool(options.pop("model_max_length", False))
    try:
        return EncoderSettings(model=model, **options)
    except ValidationError as error:
        raise QcptError(f"bad encoder option: {validation_problems(error)}") from None


def bm25_command(
    dataset: DatasetArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="TREC run file to write.")],
    data_dir: DataDirOpt = None,
    split: SplitOpt = "test",
    depth: DepthOpt = 1000,
    index_dir: Annotated[
        Path | None,
        typer.Option("--index-dir", help="Save the index here, or load it from here if it exists."),
    ] = None,
    k1: Annotated[float, typer.Option(help="BM25 k1.")] = 1.5,
    b: Annotated[float, typer.Option(help="BM25 b.")] = 0.75,
    stemmer: Annotated[str, typer.Option(help="Snowball language, or 'none'.")] = "english",
    stopwords: Annotated[str, typer.Option(help="Stop-word list (bm25s name), or 'none'.")] = "en",
    quiet: QuietOpt = False,
) -> None:
    """Rank the split's queries with BM25 (bm25s) and write a TREC run file."""
    from qcpt.data import resolve_dataset
    from qcpt.evaluation import write_run
    from qcpt.retrieval import BM25Index, BM25Settings

    data = resolve_dataset(dataset, data_dir)
    queries = data.queries(split)  # bad queries or qrels fail before the index is built
    if index_dir is not None and index_dir.is_dir() and any(index_dir.iterdir()):
        index = BM25Index.load(index_dir)
    else:
        settings = BM25Settings(
            k1=k1,
            b=b,
            stemmer=None if stemmer == "none" else stemmer,
            stopwords=None if stopwords == "none" else stopwords,
        )
        index = BM25Index(settings).index(data.iter_corpus(), show_progress=not quiet)
        if index_dir is not None:
            index.save(index_dir)
    run = index.search(queries, k=depth, show_progress=not quiet)
    write_run(run, output, tag="bm25")
    console.print(f"wrote {output} ({len(run)} queries)")


@with_encoder_options
def encode_command(
    dataset: DatasetArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Embeddings folder.")],
    model: ModelOpt = DEFAULT_MODEL,
    data_dir: DataDirOpt = None,
    shard_size: Annotated[int, typer.Option(min=1, help="Documents per shard file.")] = 100_000,
    part: Annotated[
        str,
        typer.Option(help="k/n: encode only shards k, k+n, ... (run n processes with k = 0..n-1)."),
    ] = "0/1",
    quiet: QuietOpt = False,
    encoder_options: dict | None = None,
) -> None:
    """Encode a corpus into .npy shards with id lists (resumable, shardable)."""
    from qcpt.data import resolve_dataset
    from qcpt.retrieval import DenseEncoder, encode_to_shards

    settings = encoder_settings(model, **encoder_options)
    shard_part = parse_part(part, "--part")
    data = resolve_dataset(dataset, data_dir)
    shards = encode_to_shards(
        DenseEncoder(settings),
        data.iter_corpus(),
        output,
        shard_size=shard_size,
        part=shard_part,
        show_progress=not quiet,
    )
    console.print(f"{len(shards)} shard(s) in {output}")


def index_command(
    embeddings: Annotated[Path, typer.Argument(help="Embeddings folder from qcpt encode.")],
    factory: FactoryOpt = "Flat",
    train_size: Annotated[int, typer.Option(help="Vectors used to train IVF/PQ.")] = 200_000,
    overwrite: Annotated[bool, typer.Option(help="Rebuild existing index files.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Build a FAISS index (inner product) for each embedding shard."""
    from qcpt.retrieval import build_shard_indexes

    paths = build_shard_indexes(
        embeddings, factory, train_size=train_size, overwrite=overwrite, show_progress=not quiet
    )
    console.print(f"{len(paths)} index file(s): {paths[0].name}{' ...' if len(paths) > 1 else ''}")


def search_command(
    embeddings: Annotated[Path, typer.Argument(help="Embeddings folder from qcpt encode.")],
    dataset: DatasetArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="TREC run file to write.")],
    data_dir: DataDirOpt = None,
    split: SplitOpt = "test",
    depth: DepthOpt = 1000,
    factory: FactoryOpt = "Flat",
    nprobe: Annotated[int | None, typer.Option(help="IVF cells visited.")] = None,
    ef_search: Annotated[int | None, typer.Option(help="HNSW search breadth.")] = None,
    batch_size: BatchOpt = 32,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Encode the split's queries with the embeddings' encoder, search every shard, write a run."""
    from pydantic import ValidationError

    from qcpt.data import resolve_dataset
    from qcpt.evaluation import write_run
    from qcpt.retrieval import DenseEncoder, EncoderSettings, read_manifest, search_shards
    from qcpt.utils.config import validation_problems

    recorded = read_manifest(embeddings)["encoder"]
    if "model_path" not in recorded:
        raise QcptError(
            f"{embeddings / 'manifest.json'}: the encoder settings name no "
            "model_path; make the folder with qcpt encode"
        )
    try:
        settings = EncoderSettings.model_validate(
            {k: v for k, v in recorded.items() if k in EncoderSettings.model_fields}
            | {"model": recorded["model_path"], "batch_size": batch_size, "device": device}
        )
    except ValidationError as error:
        raise QcptError(
            f"{embeddings / 'manifest.json'}: bad encoder settings: {validation_problems(error)}"
        ) from None
    queries = resolve_dataset(dataset, data_dir).queries(split)  # before the model loads
    encoder = DenseEncoder(settings)
    query_ids = list(queries)
    vectors = encoder.encode_queries([queries[q] for q in query_ids], show_progress=not quiet)
    run = search_shards(
        embeddings,
        query_ids,
        vectors,
        depth,
        factory=factory,
        nprobe=nprobe,
        ef_search=ef_search,
        show_progress=not quiet,
    )
    write_run(run, output, tag=Path(recorded["model"]).name or "dense")
    console.print(f"wrote {output} ({len(run)} queries)")
