"""Peak memory and wall time of the data-heavy stages at 10k / 100k / 1M passages.

For each size a BEIR-layout corpus is built from SciFact text (cached under ``--work-dir``): the
5,183 SciFact abstracts with their own ids first (so SciFact's queries and train/test qrels,
copied beside the corpus, still have their positives), then synthetic documents
``syn0000001``, ... made of seeded-random SciFact sentences under a random SciFact title: 75 %
of them 1-4 sentences, 25 % 6-12 (long enough for split-passages to cut them), about 0.8 KB a
line, so 1M documents are ~0.8 GB of jsonl.

Every stage then runs as its own child process (the real ``qcpt`` CLI, or this script's
``--child`` entry where no CLI exists), so each peak is that stage's alone: peak RSS is the
child's ``ru_maxrss`` (through GNU time, see :func:`measure`), wall time the child's lifetime;
a child is stopped when it passes ``--stage-timeout`` or ``--max-rss-gib`` (polled with
psutil) and recorded so.

Stages: ``qcpt --help`` (the interpreter + CLI floor), ``qcpt data stats``, ``qcpt
split-passages`` (default 144-token recipe), ``qcpt bm25`` (index built and saved, the 300
SciFact test queries searched to depth 100), bm25s alone (the same texts, tokeniser and
settings, streamed into bm25s' token lists and indexed, nothing of qcpt: what bm25s itself
needs), ``qcpt encode`` of a fixed slice (``--shard-size 2000 --part 0/N``: the first 2,000
documents whatever the corpus size; the whole file is still read), ``qcpt build-train`` (BM25
negatives for SciFact's train queries) and the pre-training data loader (``load_pairs_dataset``
over split-passages' output + a synthetic generated-queries file, 4 queries a passage drawn
from benchmarks/recorded/, the contrastive collator, 20 shuffled batches of 32).

    python benchmarks/memory_at_scale.py [--sizes 10000,100000,1000000]
        [--work-dir /tmp/qcpt-scale] [--stages data-stats,bm25,...] [--stage-timeout 1800]

Writes benchmarks/results/memory_at_scale.{json,md}; sizes already recorded there and not run
again are kept (``--fresh`` drops them). Wall times depend on what else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS_DIR, data_dir, machine_info, save_results

from qcpt.utils.io import write_json, write_jsonl

REPO = Path(__file__).resolve().parents[1]
NAME = "memory_at_scale"
RECORDED_QUERIES = REPO / "benchmarks" / "recorded" / "scifact-pretrain-queries.jsonl"
CORPUS_RECIPE = 1  # bump when the synthetic corpus changes, so cached corpora are rebuilt
ENCODE_SLICE = 2000
QUERIES_PER_PASSAGE = 4
LOADER_BATCHES = 20
LOADER_BATCH_SIZE = 32
STAGES = (
    "cli-floor",
    "data-stats",
    "split-passages",
    "bm25",
    "bm25s-alone",
    "encode",
    "build-train",
    "pretrain-loader",
)
STAGE_LABELS = {
    "cli-floor": "qcpt --help (floor)",
    "data-stats": "qcpt data stats",
    "split-passages": "qcpt split-passages",
    "bm25": "qcpt bm25 (index + 300 queries)",
    "bm25s-alone": "bm25s alone (tokenise + index)",
    "encode": f"qcpt encode ({ENCODE_SLICE:,} docs slice)",
    "build-train": "qcpt build-train",
    "pretrain-loader": f"pre-training loader ({LOADER_BATCHES} x {LOADER_BATCH_SIZE})",
}
FLAT_RATIO = 1.5
# where the memory goes, from reading src/ beside the figures (written to both result files)
FINDINGS = [
    "bm25, build-train: not flat, and almost all of the growth is bm25s itself (compare bm25s "
    "alone): it needs every document's token-id list in memory (~10 B a token), then "
    "bm25s.BM25.build_index_from_ids / bm25s.scoring._build_scores_and_indices_for_matrix "
    "allocate COO arrays (float32 score + 2 x int32 per (document, term) pair) that scipy's "
    "csc_matrix copies, a peak of several times the final score arrays. qcpt adds its CLI floor "
    "and ~80 B a document (retrieval/bm25.py BM25Index.doc_ids; the duplicate check's id set "
    "of data/beir.py _unique at the time, now 8 B a document). Flat needs another index build "
    "(tokenise and score in chunks, "
    "merge per-term postings on disk, search a memory-mapped index) or engine (Lucene); not "
    "done.",
    "Changed: retrieval/bm25.py BM25Index.index held every document text in a list before "
    "tokenising; texts are now streamed into bm25s' tokenizer (same tokens, same index).",
    "Changed: finetune/groups.py bm25_groups and mine_groups loaded the whole corpus "
    "(RetrievalDataset.corpus, a dict of every Document) to fill ~800 queries' groups; "
    "documents_for_groups keeps only the judged and ranked documents (queries x depth) from "
    "one more pass. This removes an O(corpus) dict kept beside the index; the peak stays the "
    "BM25 build's.",
    "pretrain-loader: 4.9x less memory at 1M documents (3,294 -> 678 MiB), still not flat by "
    "the 1.5x rule (2.05x for 100x data, ~210 B a passage). Changed: pretrain/contexts.py "
    "ContextSampler split every passage into words up front (now when a span-overlap draw "
    "asks), and load_pairs_dataset held every Passage, every query list and two id -> line "
    "dicts as Python objects (~1.7 KB a passage); it now reads passages and queries into "
    "data/store.py's memory-mapped columns (UTF-8 in an unlinked temporary file, int64 "
    "offsets, ids as 64-bit BLAKE2b keys joined with numpy) and the sampler keeps documents "
    "as numpy groups. What grows is int64 arrays: per passage its id, document and two text "
    "offsets, the query offsets (4 queries), the join's sort order and rows, the sampler's "
    "order and groups, and their sorting temporaries at the peak. Flatter would need those on "
    "disk too (or int32 indices and fewer temporaries); not done.",
    "Changed: every iter_corpus / load_queries reader kept the set of every id it read for its "
    "duplicate check (data/beir.py _unique), data/stats.py dataset_stats a second set of the "
    "corpus ids and a list of word counts, querygen/passages.py split_documents a third id set: "
    "~140 B a document. The checks now keep a 64-bit key a record (data/store.py "
    "StreamingKeySet: chunks of 8,192 keys checked against sorted runs; the file is re-read to "
    "name both lines), data stats keeps int32 lengths and only the judged ids it finds: data "
    "stats at 1M 191 -> 74 MiB, flat by the 1.5x rule (1.27x for 100x data, ~17 B a document); "
    "its wall time 26 -> 33 s (a BLAKE2b key a record). split-passages and the loader were not "
    "re-measured after it. encode's memory is one shard, but retrieval/index.py "
    "encode_to_shards parses every shard to reach its part, so its wall time grows with the "
    "corpus.",
    "Changed: commands that only read data no longer import torch, faiss or bm25s (CLI "
    "registration imported qcpt.encoder, whose pooling module imported torch): the floor fell "
    "from ~330 to 58 MiB, data stats at 1M from 462 to 191 MiB, bm25 and build-train by ~260 MiB "
    "at every size (qcpt bm25 is now 1.03-1.09x bm25s alone). split-passages (its tokenizer "
    "imports torch), encode and the loader need torch and were not re-measured.",
]
MIB = 1 << 20


# --- data -----------------------------------------------------------------------------------


def build_corpus(folder: Path, size: int, seed: int) -> dict:
    """Write (or reuse) the BEIR folder of ``size`` documents; returns its description."""
    marker = folder / "corpus.build.json"
    recipe = {"recipe": CORPUS_RECIPE, "documents": size, "seed": seed}
    if marker.is_file() and json.loads(marker.read_text()).get("settings") == recipe:
        return json.loads(marker.read_text())
    from qcpt.data import iter_corpus
    from qcpt.querygen.passages import split_sentences

    source = data_dir() / "scifact"
    started = time.perf_counter()
    originals = list(iter_corpus(source / "corpus.jsonl"))
    sentences = [d.text[a:b] for d in originals for a, b in split_sentences(d.text)]
    titles = [d.title for d in originals if d.title]
    rng = random.Random(seed)

    def records():
        for document in originals[:size]:
            yield {"_id": document.id, "title": document.title, "text": document.text}
        for n in range(1, size - min(size, len(originals)) + 1):
            count = rng.randint(1, 4) if rng.random() < 0.75 else rng.randint(6, 12)
            yield {
                "_id": f"syn{n:07d}",
                "title": rng.choice(titles),
                "text": " ".join(rng.choice(sentences) for _ in range(count)),
            }

    folder.mkdir(parents=True, exist_ok=True)
    count = write_jsonl(folder / "corpus.jsonl", records())
    shutil.copyfile(source / "queries.jsonl", folder / "queries.jsonl")
    (folder / "qrels").mkdir(exist_ok=True)
    for split in ("train", "test"):
        shutil.copyfile(source / "qrels" / f"{split}.tsv", folder / "qrels" / f"{split}.tsv")
    description = {
        "settings": recipe,
        "documents": count,
        "scifact_documents": min(size, len(originals)),
        "corpus_bytes": (folder / "corpus.jsonl").stat().st_size,
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    write_json(marker, description)
    return description


def synthesise_queries(passages: Path, output: Path, seed: int) -> dict:
    """A generated-queries file for every passage of ``passages`` (4 queries each, drawn from
    the recorded SciFact queries) plus its sidecar; reused while newer than ``passages``."""
    sidecar = output.with_name(output.name.removesuffix(".jsonl") + ".meta.json")
    if (
        output.is_file()
        and sidecar.is_file()
        and output.stat().st_mtime >= passages.stat().st_mtime
    ):
        return json.loads(sidecar.read_text())
    from qcpt.data.generated_queries import FORMAT, read_queries

    pool = [q for queries in read_queries(RECORDED_QUERIES).values() for q in queries]
    rng = random.Random(seed)

    def records():
        with passages.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield {
                        "_id": json.loads(line)["_id"],
                        "queries": rng.sample(pool, QUERIES_PER_PASSAGE),
                    }

    count = write_jsonl(output, records())
    meta = {
        "format": FORMAT,
        "complete": True,
        "written": count,
        "settings": {
            "backend": "synthetic (benchmarks/memory_at_scale.py)",
            "num_queries": QUERIES_PER_PASSAGE,
            "pool": str(RECORDED_QUERIES.name),
            "seed": seed,
        },
        "bytes": output.stat().st_size,
    }
    write_json(sidecar, meta)
    return meta


# --- measuring one child --------------------------------------------------------------------


def measure(argv: list[str], log: Path, *, timeout: float, max_rss: float, env: dict) -> dict:
    """Run ``argv`` as a child in its own session: its peak RSS, wall time and status; stopped
    (process group killed) past ``timeout`` s or ``max_rss`` bytes (polled with psutil).

    The peak is the child's ``ru_maxrss`` as GNU time reports it (``/usr/bin/time -f %M``):
    time fork()s from a ~2 MiB process before exec, so the figure is the stage's own. (Reading
    ``ru_maxrss`` of a child spawned straight from this script would not be: Python spawns with
    vfork, and exec carries the spawning process's high-water mark into the child's.) Without
    GNU time, the psutil-polled peak (RSS of the child and its descendants every 0.2 s)."""
    import psutil

    log.parent.mkdir(parents=True, exist_ok=True)
    usage_file = log.with_suffix(".time")
    usage_file.unlink(missing_ok=True)
    gnu_time = Path("/usr/bin/time")
    wrapped = (
        [str(gnu_time), "-f", "%M %e", "-o", str(usage_file), *argv] if gnu_time.is_file() else argv
    )
    started = time.perf_counter()
    polled, stopped = 0, None
    with log.open("wb") as out:
        child = subprocess.Popen(
            wrapped, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=REPO
        )
        watched = psutil.Process(child.pid)
        while child.poll() is None:
            elapsed = time.perf_counter() - started
            try:
                rss = sum(p.memory_info().rss for p in [watched, *watched.children(True)])
            except psutil.Error:
                rss = 0
            polled = max(polled, rss)
            if stopped is None and (elapsed > timeout or rss > max_rss):
                stopped = "timeout" if elapsed > timeout else "memory cap"
                os.killpg(child.pid, signal.SIGKILL)
            time.sleep(0.2)
    wall = time.perf_counter() - started
    code = child.returncode
    status = stopped or ("ok" if code == 0 else f"failed (exit {code})")
    peak, source = polled / MIB, "psutil polling (0.2 s)"
    if usage_file.is_file():
        fields = usage_file.read_text().split()  # "Command exited with ..." may come first
        if len(fields) >= 2 and fields[-2].isdigit():
            peak, source = int(fields[-2]) / 1024, "ru_maxrss (GNU time)"
    record = {
        "status": status,
        "peak_rss_mib": round(peak, 1),
        "peak_source": source,
        "polled_peak_rss_mib": round(polled / MIB, 1),
        "wall_s": round(wall, 1),
        "command": shlex.join(_display(argv)),
        "log": str(log),
    }
    text = log.read_text(errors="replace")
    for line in text.splitlines():
        if line.startswith("MEASURE "):
            record["detail"] = json.loads(line[len("MEASURE ") :])
    if status != "ok":
        record["log_tail"] = text[-1500:]
    return record


def _display(argv: list[str]) -> list[str]:
    return [
        ("qcpt" if a.endswith("/qcpt") else "python" if a == sys.executable else a) for a in argv
    ]


def self_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / MIB, 1)


# --- child entries (no CLI for these) -------------------------------------------------------


def child_bm25s(corpus: str) -> None:
    """bm25s alone on the texts qcpt bm25 indexes (title + " " + text, English stemmer and
    stop words, Lucene BM25 k1 1.5 b 0.75): texts streamed from the file, token lists kept."""
    import bm25s
    import Stemmer
    from bm25s.tokenization import Tokenizer

    def texts():
        with open(corpus, "rb") as handle:
            for line in handle:
                record = json.loads(line)
                title, text = (record.get("title") or "").strip(), record["text"].strip()
                yield f"{title} {text}".strip() if title else text

    started = time.perf_counter()
    tokenizer = Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")
    tokens = list(tokenizer.tokenize(texts(), update_vocab=True, return_as="stream"))
    after_tokens = current_rss_mib()
    tokenised = time.perf_counter() - started
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(tokens, show_progress=False)
    scores = retriever.scores
    index_bytes = sum(scores[k].nbytes for k in ("data", "indices", "indptr"))
    print(
        "MEASURE "
        + json.dumps(
            {
                "documents": len(tokens),
                "tokens": sum(map(len, tokens)),
                "vocabulary": len(retriever.vocab_dict),
                "rss_after_tokenising_mib": after_tokens,
                "tokenise_s": round(tokenised, 1),
                "index_s": round(time.perf_counter() - started - tokenised, 1),
                "index_arrays_mib": round(index_bytes / MIB, 1),
            }
        ),
        flush=True,
    )


def child_loader(passages: str, queries: str, seed: int) -> None:
    """The pre-training input path: pairs dataset, contrastive collator, shuffled batches."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler
    from transformers import AutoTokenizer

    from qcpt.encoder import resolve_model
    from qcpt.pretrain.config import PretrainConfig
    from qcpt.pretrain.dataset import load_pairs_dataset
    from qcpt.pretrain.training import build_collator

    config = PretrainConfig.model_validate(
        {
            "data": {"passages": passages, "queries": queries, "context": "query"},
            "model": {"model": "all-MiniLM-L6-v2"},
            "training": {"seed": seed},
        }
    )
    started = time.perf_counter()
    dataset = load_pairs_dataset(
        config.data.passages, config.data.queries, config.data.context, seed=seed
    )
    loaded = time.perf_counter() - started
    after_load = current_rss_mib()
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.model.model))
    collator = build_collator(config, tokenizer, seed)
    loader = DataLoader(
        dataset,
        batch_size=LOADER_BATCH_SIZE,
        drop_last=True,
        sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)),
        collate_fn=collator,
    )
    number = 0
    for number, _ in enumerate(loader, start=1):
        if number == LOADER_BATCHES:
            break
    print(
        "MEASURE "
        + json.dumps(
            {
                "pairs": len(dataset),
                "load_s": round(loaded, 1),
                "batches_s": round(time.perf_counter() - started - loaded, 1),
                "rss_after_load_mib": after_load,
                "batches": number,
            }
        ),
        flush=True,
    )


# --- the stages -----------------------------------------------------------------------------


def stage_argv(stage: str, folder: Path, out: Path, documents: int, seed: int) -> list[str]:
    qcpt = str(Path(sys.executable).with_name("qcpt"))
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    if stage == "cli-floor":
        return [qcpt, "--help"]
    if stage == "data-stats":
        return [qcpt, "data", "stats", str(folder), "--json", str(out / "stats.json")]
    if stage == "split-passages":
        return [
            qcpt,
            "split-passages",
            str(folder / "corpus.jsonl"),
            "-o",
            str(folder / "passages.jsonl"),
        ]
    if stage == "bm25":
        return [
            qcpt,
            "bm25",
            str(folder),
            "-o",
            str(out / "bm25.trec"),
            "--index-dir",
            str(out / "bm25-index"),
            "-k",
            "100",
            "--quiet",
        ]
    if stage == "bm25s-alone":
        return [*me, "bm25s", str(folder / "corpus.jsonl")]
    if stage == "encode":
        parts = -(-documents // ENCODE_SLICE)
        return [
            qcpt,
            "encode",
            str(folder),
            "-o",
            str(out / "embeddings"),
            "--shard-size",
            str(ENCODE_SLICE),
            "--part",
            f"0/{parts}",
            "--device",
            "cpu",
            "--quiet",
        ]
    if stage == "build-train":
        return [qcpt, "build-train", str(folder), "-o", str(out / "groups.jsonl"), "--quiet"]
    if stage == "pretrain-loader":
        return [
            *me,
            "loader",
            str(folder / "passages.jsonl"),
            str(folder / "generated-queries.jsonl"),
            str(seed),
        ]
    raise ValueError(stage)


def run_size(size: int, args, env: dict) -> dict:
    folder = args.work_dir / f"scifact-{size_label(size)}"
    print(f"== {size:,} documents: {folder}", flush=True)
    corpus = build_corpus(folder, size, args.seed)
    out = folder / "out"
    stages: dict[str, dict] = {}
    for stage in args.stages:
        if stage == "pretrain-loader":
            passages = folder / "passages.jsonl"
            if not passages.is_file():
                stages[stage] = {
                    "status": "skipped: no passages.jsonl (split-passages did not finish)"
                }
                continue
            corpus["generated_queries"] = synthesise_queries(
                passages, folder / "generated-queries.jsonl", args.seed
            )
        for leftover in ("bm25-index", "embeddings"):  # the stages resume from these
            shutil.rmtree(out / leftover, ignore_errors=True)
        argv = stage_argv(stage, folder, out, corpus["documents"], args.seed)
        record = measure(
            argv,
            out / f"{stage}.log",
            timeout=args.stage_timeout,
            max_rss=args.max_rss_gib * (1 << 30),
            env=env,
        )
        if stage == "split-passages" and record["status"] == "ok":
            corpus["passages"] = sum(1 for _ in (folder / "passages.jsonl").open("rb"))
            corpus["passages_bytes"] = (folder / "passages.jsonl").stat().st_size
        if stage == "bm25" and (out / "bm25-index").is_dir():
            record["index_bytes_on_disk"] = sum(
                p.stat().st_size for p in (out / "bm25-index").iterdir() if p.is_file()
            )
        record["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
        record["harness_command"] = args.command
        stages[stage] = record
        print(
            f"  {stage:16s} {record['status']:12s} {record['peak_rss_mib']:9.1f} MiB "
            f"{record['wall_s']:8.1f} s",
            flush=True,
        )
    return {"corpus": corpus, "stages": stages}


def size_label(size: int) -> str:
    for unit, suffix in ((1_000_000, "M"), (1000, "k")):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


# --- summary --------------------------------------------------------------------------------


def flatness(runs: dict[str, dict]) -> dict[str, dict]:
    """Per stage: peak RSS at the largest size it finished vs the smallest, and the verdict."""
    sizes = sorted(runs, key=int)
    verdicts = {}
    for stage in STAGES:
        done = [s for s in sizes if runs[s]["stages"].get(stage, {}).get("status") == "ok"]
        if len(done) < 2:
            continue
        small, large = done[0], done[-1]
        low = runs[small]["stages"][stage]["peak_rss_mib"]
        high = runs[large]["stages"][stage]["peak_rss_mib"]
        docs = runs[large]["corpus"]["documents"] - runs[small]["corpus"]["documents"]
        data_growth = int(large) / int(small)
        verdict = {
            "smallest": int(small),
            "largest_finished": int(large),
            "data_growth": round(data_growth, 1),
            "rss_ratio": round(high / low, 2),
            "extra_bytes_per_document": round((high - low) * MIB / docs),
            "flat": high / low < FLAT_RATIO,
        }
        failed = [s for s in sizes if stage in runs[s]["stages"] and s not in done]
        if failed:
            verdict["not_finished"] = {s: runs[s]["stages"][stage]["status"] for s in failed}
        verdicts[stage] = verdict
    return verdicts


def markdown(record: dict) -> str:
    runs = record["sizes"]
    sizes = sorted(runs, key=int)
    head = "| stage | " + " | ".join(f"{int(s):,} docs" for s in sizes) + " |"
    lines = [
        f"### Peak memory and wall time at scale ({record['machine']['cores']} cores, "
        f"{record['machine']['ram_gib']} GiB RAM)",
        "",
        "Peak RSS MiB / wall s of each stage, each run as its own process. " + record["note"],
        "",
        head,
        "|---|" + "---:|" * len(sizes),
    ]
    for stage in STAGES:
        cells = []
        for s in sizes:
            r = runs[s]["stages"].get(stage)
            if r is None:
                cells.append("")
            elif r["status"] == "ok":
                cells.append(f"{r['peak_rss_mib']:,.0f} / {r['wall_s']:,.0f}")
            else:
                cells.append(
                    f"{r['status']}"
                    + (
                        f" ({r['peak_rss_mib']:,.0f} MiB, {r['wall_s']:,.0f} s)"
                        if "peak_rss_mib" in r
                        else ""
                    )
                )
        if any(cells):
            lines.append(f"| {STAGE_LABELS[stage]} | " + " | ".join(cells) + " |")
    corpus_row = [
        f"{runs[s]['corpus']['corpus_bytes'] / MIB:,.0f} MiB, "
        f"{runs[s]['corpus'].get('passages', 0):,} passages"
        for s in sizes
    ]
    lines.append("| *corpus.jsonl, passages* | " + " | ".join(corpus_row) + " |")
    lines += [
        "",
        f"Flat memory (peak RSS at the largest finished size / at the smallest; "
        f"flat if < {FLAT_RATIO}x):",
        "",
        "| stage | sizes | data grew | RSS grew | extra bytes per document | flat |",
        "|---|---|---:|---:|---:|---|",
    ]
    for stage, v in record["flatness"].items():
        lines.append(
            f"| {STAGE_LABELS[stage]} | {v['smallest']:,} -> "
            f"{v['largest_finished']:,} | {v['data_growth']:g}x | {v['rss_ratio']}x | "
            f"{v['extra_bytes_per_document']:,} | {'yes' if v['flat'] else 'no'} |"
        )
    bm25_lines = []
    for s in sizes:
        ours, alone = runs[s]["stages"].get("bm25"), runs[s]["stages"].get("bm25s-alone")
        if ours and alone and ours["status"] == alone["status"] == "ok":
            detail = alone.get("detail", {})
            bm25_lines.append(
                f"| {int(s):,} | {ours['peak_rss_mib']:,.0f} | {alone['peak_rss_mib']:,.0f} | "
                f"{ours['peak_rss_mib'] / alone['peak_rss_mib']:.2f} | "
                f"{detail.get('index_arrays_mib', 0):,.0f} | "
                f"{ours.get('index_bytes_on_disk', 0) / MIB:,.0f} |"
            )
    if bm25_lines:
        lines += [
            "",
            "BM25: qcpt vs bm25s alone (same texts and settings; bm25s' token-id "
            "lists and its CSC score matrix are what it needs):",
            "",
            "| docs | qcpt bm25 MiB | bm25s alone MiB | ratio | bm25s score arrays MiB | "
            "saved index MiB |",
            "|---:|---:|---:|---:|---:|---:|",
            *bm25_lines,
        ]
    changed = [
        (stage, s, runs[s]["stages"][stage])
        for stage in STAGES
        for s in sizes
        if "before_change" in runs[s]["stages"].get(stage, {})
    ]
    if changed:
        lines += [
            "",
            "Before / after the changes to src/ (same corpus, peak RSS MiB, wall s):",
            "",
            "| stage | docs | before MiB | after MiB | before s | after s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for stage, s, r in changed:
            b = r["before_change"]
            lines.append(
                f"| {STAGE_LABELS[stage]} | {int(s):,} | {b['peak_rss_mib']:,.0f} | "
                f"{r['peak_rss_mib']:,.0f} | {b['wall_s']:,.0f} | {r['wall_s']:,.0f} |"
            )
    if record.get("findings"):
        lines += ["", "Findings:", "", *[f"- {f}" for f in record["findings"]]]
    lines += [
        "",
        f"Measured with: `{record['command']}`",
        f"Reproduce from scratch: `{record['reproduce']}`",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated corpus sizes in documents"
    )
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/qcpt-scale"))
    parser.add_argument(
        "--stages", default=",".join(STAGES), help=f"comma-separated subset of {', '.join(STAGES)}"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--stage-timeout",
        type=float,
        default=1800,
        help="seconds before a stage is stopped and recorded as not finished",
    )
    parser.add_argument(
        "--max-rss-gib",
        type=float,
        default=16,
        help="a stage passing this RSS is stopped and recorded so",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="drop the sizes already in the results file"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the result files from the recorded JSON, running nothing",
    )
    parser.add_argument(
        "--compare-with",
        type=Path,
        help="an earlier results JSON (e.g. before a code change): its figures "
        "for the stages run now are kept beside the new ones as before_change",
    )
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        {"bm25s": child_bm25s, "loader": lambda p, q, s: child_loader(p, q, int(s))}[kind](*rest)
        return
    args.command = "python benchmarks/memory_at_scale.py " + shlex.join(sys.argv[1:])
    args.stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages: {', '.join(sorted(unknown))}")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "QCPT_DATA_DIR": str(data_dir()),
        "TOKENIZERS_PARALLELISM": "false",
    }

    previous = RESULTS_DIR / f"{NAME}.json"
    runs = {}
    if previous.is_file() and not args.fresh:
        runs = json.loads(previous.read_text()).get("sizes", {})
    before = {}
    if args.compare_with:
        before = json.loads(args.compare_with.read_text())["sizes"]
    if args.report_only:
        sizes = []
        record = summary(runs, args)
        save_results(NAME, record, markdown(record))
    for size in sizes:
        fresh = run_size(size, args, env)
        kept = runs.get(str(size), {"stages": {}})
        if kept.get("corpus", {}).get("settings") != fresh["corpus"]["settings"]:
            kept = {"stages": {}}  # another corpus: nothing measured on the old one is kept
        fresh["corpus"] = {**kept.get("corpus", {}), **fresh["corpus"]}
        fresh["stages"] = {**kept["stages"], **fresh["stages"]}
        for stage in fresh["stages"]:
            old = before.get(str(size), {}).get("stages", {}).get(stage)
            if stage in args.stages and old and old.get("status") == "ok":
                fresh["stages"][stage]["before_change"] = {
                    k: old[k] for k in ("peak_rss_mib", "wall_s", "measured") if k in old
                }
        runs[str(size)] = fresh
        record = summary(runs, args)
        save_results(NAME, record, markdown(record))
    print(markdown(summary(runs, args)))


def summary(runs: dict, args) -> dict:
    import psutil

    machine = machine_info(("bm25s", "tokenizers", "numpy", "scipy", "psutil", "PyStemmer"))
    machine["ram_gib"] = round(psutil.virtual_memory().total / (1 << 30), 1)
    commands = sorted(
        {
            stage["harness_command"]
            for r in runs.values()
            for stage in r["stages"].values()
            if "harness_command" in stage
        }
    )
    return {
        "benchmark": NAME,
        "sizes": {s: runs[s] for s in sorted(runs, key=int)},
        "flatness": flatness(runs),
        "findings": FINDINGS,
        "settings": {
            "encode_slice": ENCODE_SLICE,
            "queries_per_passage": QUERIES_PER_PASSAGE,
            "loader_batches": LOADER_BATCHES,
            "loader_batch_size": LOADER_BATCH_SIZE,
            "bm25_depth": 100,
            "stage_timeout_s": args.stage_timeout,
            "max_rss_gib": args.max_rss_gib,
            "seed": args.seed,
            "work_dir": str(args.work_dir),
        },
        "machine": machine,
        "note": (
            "Wall times were taken beside another, niced CPU job on the same 2 cores (and "
            "other light work): read them as upper bounds; peak RSS is per process and "
            "not affected."
        ),
        "command": commands[0] if len(commands) == 1 else " ; ".join(commands),
        "reproduce": "python benchmarks/memory_at_scale.py --fresh --sizes 10000,100000,1000000",
        "harness_peak_rss_mib": self_rss_mib(),
    }


if __name__ == "__main__":
    main()
