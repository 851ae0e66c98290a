"""The experiment report: results with confidence intervals and paired tests, step costs, plots.

Written to ``<output>/report/``: ``report.md`` and ``report.json`` (every figure, per seed
too), ``metrics.png`` (main measure per system with its 95 % interval), ``pretrain_loss.png``
and ``finetune_loss.png`` (loss curves per run), ``step_time.png`` (pre-training seconds per
step, query vs span context). For a system run with several seeds, its per-query score is the
mean over its seeds; the spread over seeds is shown beside the interval over queries.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from qcpt.evaluation.significance import (
    CORRECTION_NAME,
    INTERVAL_NAME,
    TEST_NAME,
    adjust_p_values,
    bootstrap_interval,
    paired_comparison,
)
from qcpt.pipeline.plan import Plan, read_record
from qcpt.utils.io import atomic_write, read_json_record, write_json, write_text

REPORT_DIR = "report"
TABLE_MEASURES = ("nDCG@10", "RR@10", "R@100", "AP")


def _load(path: Path) -> dict[str, Any] | None:
    return read_json_record(path, "rerun the step that wrote it")


def collect(plan: Plan) -> dict[str, dict[str, Any]]:
    """Per system: label, kind, per-seed aggregates and per-query main-measure scores (only
    the seeds whose metrics exist)."""
    measure = plan.experiment.evaluation.main_measure
    systems: dict[str, dict[str, Any]] = {}
    for result in plan.results:
        config = plan.experiment.system(result.system)
        entry = systems.setdefault(
            result.system,
            {"label": config.display, "kind": config.kind, "seeds": {}, "per_query": {}},
        )
        metrics = _load(result.metrics)
        if metrics is None:
            continue
        entry["seeds"][result.seed] = metrics["aggregate"]
        entry["per_query"][result.seed] = {
            q: values[measure] for q, values in metrics["per_query"].items()
        }
    return systems


def mean_per_query(per_seed: dict[int, dict[str, float]]) -> dict[str, float]:
    """Per-query mean over seeds (the queries every seed scored)."""
    common = set.intersection(*(set(scores) for scores in per_seed.values()))
    return {q: statistics.fmean(scores[q] for scores in per_seed.values()) for q in common}


def summarise(plan: Plan) -> dict[str, Any]:
    """Every figure of the report as one JSON-able dict."""
    experiment = plan.experiment
    measure = experiment.evaluation.main_measure
    systems = collect(plan)
    rows: dict[str, dict[str, Any]] = {}
    for name, entry in systems.items():
        if not entry["seeds"]:
            rows[name] = {"label": entry["label"], "kind": entry["kind"], "missing": True}
            continue
        seeds = entry["seeds"]
        measures = list(dict.fromkeys(m for agg in seeds.values() for m in agg))
        means = {
            m: statistics.fmean(agg[m] for agg in seeds.values() if m in agg) for m in measures
        }
        per_query = mean_per_query(entry["per_query"])
        low, high = bootstrap_interval(list(per_query.values()))
        values = [agg[measure] for agg in seeds.values()]
        rows[name] = {
            "label": entry["label"],
            "kind": entry["kind"],
            "seeds": sorted(seeds),
            "mean": means,
            "ci": [low, high],
            "seed_sd": statistics.stdev(values) if len(values) > 1 else None,
            "per_seed": {str(s): agg for s, agg in sorted(seeds.items())},
            "queries": len(per_query),
        }
        entry["mean_per_query"] = per_query

    def family(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        tests = []
        for system, baseline in pairs:
            if "mean_per_query" not in systems[system] or "mean_per_query" not in systems[baseline]:
                continue  # not evaluated (yet)
            test = paired_comparison(
                systems[system]["mean_per_query"], systems[baseline]["mean_per_query"]
            )
            seeds = sorted(set(systems[system]["per_query"]) & set(systems[baseline]["per_query"]))
            per_seed = {
                str(s): rows[system]["per_seed"][str(s)][measure]
                - rows[baseline]["per_seed"][str(s)][measure]
                for s in seeds
            }
            tests.append(
                {"system": system, "baseline": baseline, **test, "per_seed_difference": per_seed}
            )
        for test, adjusted in zip(
            tests, adjust_p_values([t["p_value"] for t in tests]), strict=True
        ):
            test["p_adjusted"] = adjusted
        return tests

    records = {step.id: read_record(step) or {} for step in plan.steps}
    baseline = experiment.baseline
    versus = (
        family([(name, baseline) for name in rows if baseline and name != baseline])
        if baseline
        else []
    )
    contexts = family([(c.query, c.span) for c in experiment.comparisons])
    return {
        "experiment": experiment.name,
        "dataset": experiment.dataset,
        "split": experiment.evaluation.split,
        "measure": measure,
        "systems": rows,
        "baseline": baseline,
        "versus_baseline": versus,
        "query_vs_span": contexts,
        "steps": step_costs(plan, records),
        "pretraining": pretraining_figures(plan, records),
        "methods": {
            "interval": INTERVAL_NAME,
            "test": TEST_NAME,
            "correction": CORRECTION_NAME + ", within each family of tests",
        },
    }


def step_costs(plan: Plan, records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Wall time, peak memory and status of every step, from its record (``step.json``)."""
    costs = []
    for step in plan.steps:
        record = records[step.id]
        figures = record.get("figures", {})
        costs.append(
            {
                "step": step.id,
                "kind": step.kind,
                "systems": step.systems,
                "status": record.get("status", "not run"),
                "wall_seconds": record.get("wall_seconds"),
                "peak_rss_mib": figures.get("peak_rss_mib"),
            }
        )
    return costs


def pretraining_figures(
    plan: Plan, records: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Steps, seconds per step and pairs per second of every finished pre-training step."""
    found = {}
    for step in plan.steps:
        if step.kind != "pretrain":
            continue
        figures = records[step.id].get("figures", {})
        if figures.get("steps"):
            found[step.id] = {
                "systems": step.systems,
                "context": step.settings["config"]["data"]["context"],
                "steps": figures["steps"],
                "train_seconds": figures["train_seconds"],
                "seconds_per_step": round(figures["train_seconds"] / figures["steps"], 3),
                "pairs_per_second": figures["pairs_per_second"],
                "precision": figures.get("precision"),
            }
    return found


def _number(value: float | None, digits: int = 4, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"


def render_markdown(summary: dict[str, Any]) -> str:
    """The report as markdown tables (full numbers, no truncation)."""
    measure = summary["measure"]
    rows = summary["systems"]
    tests = {t["system"]: t for t in summary["versus_baseline"]}
    shown = [m for m in TABLE_MEASURES if m != measure]
    lines = [
        f"# {summary['experiment']}: {summary['dataset']} ({summary['split']})",
        "",
        f"| system | seeds | {measure} | 95 % CI | sd over seeds | "
        + " | ".join(shown)
        + f" | vs {summary['baseline'] or '-'} | p | p (BH) |",
        "|---|---:|---:|---|---:|" + "---:|" * len(shown) + "---:|---:|---:|",
    ]
    for name, row in rows.items():
        if row.get("missing"):
            state = "not run" if summary["split"] else "not evaluated (no qrels)"
            lines.append(f"| {row['label']} | 0 | {state} |" + " |" * (len(shown) + 6))
            continue
        test = tests.get(name)
        cells = [
            row["label"],
            str(len(row["seeds"])),
            _number(row["mean"].get(measure)),
            f"[{row['ci'][0]:.4f}, {row['ci'][1]:.4f}]",
            _number(row["seed_sd"]),
            *[_number(row["mean"].get(m)) for m in shown],
            _number(test["mean_difference"], signed=True) if test else "",
            _p(test["p_value"]) if test else "",
            _p(test["p_adjusted"]) if test else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if summary["query_vs_span"]:
        lines += [
            "",
            f"Query minus span context, per-query {measure} (mean over seeds):",
            "",
            "| query context | span context | difference | 95 % CI | per seed | p | p (BH) |",
            "|---|---|---:|---|---|---:|---:|",
        ]
        for test in summary["query_vs_span"]:
            per_seed = ", ".join(f"{s}: {d:+.4f}" for s, d in test["per_seed_difference"].items())
            lines.append(
                f"| {rows[test['system']]['label']} | {rows[test['baseline']]['label']} | "
                f"{test['mean_difference']:+.4f} | [{test['ci_low']:+.4f}, {test['ci_high']:+.4f}]"
                f" | {per_seed} | {_p(test['p_value'])} | {_p(test['p_adjusted'])} |"
            )
    if summary["pretraining"]:
        lines += [
            "",
            "Pre-training (same budget for every row):",
            "",
            "| step | context | precision | steps | train s | s / step | pairs / s |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for step, figures in summary["pretraining"].items():
            lines.append(
                f"| {step} | {figures['context']} | {figures['precision'] or ''} | "
                f"{figures['steps']} | {figures['train_seconds']:.1f} | "
                f"{figures['seconds_per_step']:.3f} | {figures['pairs_per_second']:.2f} |"
            )
    lines += [
        "",
        "Steps:",
        "",
        "| step | status | wall min | peak RSS MiB |",
        "|---|---|---:|---:|",
    ]
    total = 0.0
    for cost in summary["steps"]:
        seconds, peak = cost["wall_seconds"], cost["peak_rss_mib"]
        total += seconds or 0.0
        lines.append(
            f"| {cost['step']} | {cost['status']} | "
            f"{'' if seconds is None else f'{seconds / 60:.1f}'} | "
            f"{'' if peak is None else f'{peak:.0f}'} |"
        )
    lines += [
        f"| total | | {total / 60:.1f} | |",
        "",
        f"Intervals: {summary['methods']['interval']}. Tests: {summary['methods']['test']} "
        f"on per-query {measure}; p (BH): {summary['methods']['correction']}.",
    ]
    return "\n".join(lines) + "\n"


def build_report(plan: Plan) -> dict[str, Any]:
    """Write ``report/`` (markdown, JSON, plots) for the finished steps; returns the summary
    with its markdown under ``markdown``."""
    folder = plan.output / REPORT_DIR
    summary = summarise(plan)
    markdown = render_markdown(summary)
    write_text(folder / "report.md", markdown)
    write_json(folder / "report.json", summary)
    summary["plots"] = write_plots(plan, summary, folder)
    summary["markdown"] = markdown
    return summary


def write_plots(plan: Plan, summary: dict[str, Any], folder: Path) -> list[str]:
    """The report's PNGs (each only when it has something to show); returns their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qcpt.pretrain.curves import plot_loss_curves

    written = []
    rows = {n: r for n, r in summary["systems"].items() if not r.get("missing")}
    if rows:
        measure = summary["measure"]
        labels = [r["label"] for r in rows.values()]
        means = [r["mean"][measure] for r in rows.values()]
        errors = [
            [m - r["ci"][0] for m, r in zip(means, rows.values(), strict=True)],
            [r["ci"][1] - m for m, r in zip(means, rows.values(), strict=True)],
        ]
        figure, axis = plt.subplots(figsize=(max(5.0, 0.9 * len(rows) + 2), 4.2))
        axis.bar(range(len(rows)), means, yerr=errors, capsize=4, color="#4c72b0")
        axis.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=8)
        axis.set_ylabel(f"{measure} (95 % CI over queries)")
        axis.set_title(f"{summary['dataset']} ({summary['split']})")
        axis.set_ylim(min(means) * 0.8, max(r["ci"][1] for r in rows.values()) * 1.03)
        axis.grid(axis="y", alpha=0.3)
        _save(figure, folder / "metrics.png", plt)
        written.append("metrics.png")
    logs = {}
    for step in plan.steps:
        if step.kind == "pretrain":
            log = _load(step.folder / "train_log.json")
            if log and any("loss" in e for e in log["log_history"]):
                logs[step.id.removeprefix("pretrain/")] = log["log_history"]
    if logs:
        plot_loss_curves(logs, folder / "pretrain_loss.png", title="pre-training loss")
        written.append("pretrain_loss.png")
    logs = {}
    for step in plan.steps:
        if step.kind == "finetune":
            for stage_log in sorted(step.folder.glob("stage*/train_log.json")):
                history = (_load(stage_log) or {}).get("log_history", [])
                if any("loss" in e for e in history):
                    label = f"{step.id.removeprefix('finetune/')} {stage_log.parent.name}"
                    logs[label] = history
    if logs:
        plot_loss_curves(logs, folder / "finetune_loss.png", title="fine-tuning loss")
        written.append("finetune_loss.png")
    times = summary["pretraining"]
    if times:
        figure, axis = plt.subplots(figsize=(max(5.0, 0.9 * len(times) + 2), 4.0))
        colours = ["#dd8452" if f["context"] == "query" else "#4c72b0" for f in times.values()]
        axis.bar(range(len(times)), [f["seconds_per_step"] for f in times.values()], color=colours)
        axis.set_xticks(
            range(len(times)),
            [s.removeprefix("pretrain/") for s in times],
            rotation=30,
            ha="right",
            fontsize=8,
        )
        axis.set_ylabel("seconds per step (orange: query context)")
        axis.set_title("pre-training step time")
        axis.grid(axis="y", alpha=0.3)
        _save(figure, folder / "step_time.png", plt)
        written.append("step_time.png")
    return written


def _save(figure, path: Path, plt) -> None:
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)
