"""The generation loop: batches of passages -> generator -> cleaning -> resumable output.

Passages are cut into batches of ``batch_size`` in corpus order; batch *b* is sampled with a seed
derived from ``(seed, b)`` and belongs to shard ``b mod n``. So a rerun, a resumed run and the
merge of n shards all give the same queries as one uninterrupted run with the same batch size.

Reference: Wu et al., "Query-as-context Pre-training for Dense Passage Retrieval" (2023).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tqdm.auto import tqdm

from qcpt.data.passages import Passage
from qcpt.querygen.backends.base import QueryGenerator, batch_seed
from qcpt.querygen.config import GenerationSettings
from qcpt.querygen.filters import clean_queries
from qcpt.querygen.writer import QueryWriter, shard_path

# settings that do not change the output, so a run may resume with other values
_NOT_COMPARED = {"device", "threads"}


@dataclass
class GenerationSummary:
    """What one call of :func:`generate_queries` did."""

    output: Path
    passages: int  # passages of this shard
    resumed: int  # passages already written before this call
    written: int  # passages written by this call
    queries: int  # queries written by this call (after cleaning)
    seconds: float
    counts: Counter = field(default_factory=Counter)  # cumulative cleaning counts

    @property
    def queries_per_second(self) -> float:
        """Queries written per second of generation in this call."""
        return self.queries / self.seconds if self.seconds else 0.0


def generate_queries(
    passages: Sequence[Passage],
    generator: QueryGenerator,
    settings: GenerationSettings,
    output: str | Path,
    *,
    source: str = "",
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    show_progress: bool = True,
) -> GenerationSummary:
    """Generate, clean and append queries for this shard's passages not yet in ``output``.

    ``source`` names the passages for the sidecar. With ``shard=(k, n)``, n > 1, the output is
    ``<output stem>.shard-<k>-of-<n>.jsonl``. Returns a :class:`GenerationSummary`.
    """
    k, n = shard
    path = shard_path(output, shard) if n > 1 else Path(output)
    size = settings.batch_size
    batches = [
        (b, passages[start : start + size])
        for b, start in enumerate(range(0, len(passages), size))
        if b % n == k
    ]
    compared = {
        **settings.model_dump(mode="json", exclude=_NOT_COMPARED),
        "model": settings.resolved_model(),
        "shard": [k, n] if n > 1 else None,
        "passages": {"source": source, "count": len(passages)},
    }
    info = {"generator": generator.describe(), "qcpt_version": _version()}
    writer = QueryWriter(path, compared, info, overwrite=overwrite)
    total = sum(len(batch) for _, batch in batches)
    resumed = sum(p.id in writer.done for _, batch in batches for p in batch)
    written = queries = 0
    complete = False
    start_time = time.perf_counter()
    bar = tqdm(
        total=total,
        initial=resumed,
        unit="passage",
        desc="generating queries",
        disable=not show_progress,
        smoothing=0.1,
    )
    try:
        for b, batch in batches:
            if all(p.id in writer.done for p in batch):
                continue
            raw = generator.generate(batch, settings.num_queries, batch_seed(settings.seed, b))
            counts: Counter = Counter()
            records = [
                (p.id, clean_queries(found, p.text, settings.clean, counts))
                for p, found in zip(batch, raw, strict=True)
                if p.id not in writer.done
            ]
            writer.write(records, counts)
            written += len(records)
            queries += counts["kept"]
            elapsed = time.perf_counter() - start_time
            bar.set_postfix_str(f"{queries / elapsed:.2f} queries/s", refresh=False)
            bar.update(len(records))
        complete = True
    finally:
        bar.close()
        writer.close(complete)
    return GenerationSummary(
        output=path,
        passages=total,
        resumed=resumed,
        written=written,
        queries=queries,
        seconds=time.perf_counter() - start_time,
        counts=writer.counts,
    )


def _version() -> str | None:
    try:
        return metadata.version("qcpt")
    except metadata.PackageNotFoundError:
        return None
