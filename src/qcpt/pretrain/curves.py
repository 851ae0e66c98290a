"""Loss curves of training runs as a PNG: one panel per loss term, one line per run."""

from __future__ import annotations

from pathlib import Path

from qcpt.utils.io import atomic_write


def loss_series(log_history: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """``{term: (steps, values)}`` from a Trainer ``log_history`` (``loss`` and ``loss_*``)."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for entry in log_history:
        for key, value in entry.items():
            if key == "loss" or key.startswith("loss_"):
                name = "total" if key == "loss" else key.removeprefix("loss_")
                steps, values = series.setdefault(name, ([], []))
                steps.append(int(entry["step"]))
                values.append(float(value))
    return series


def plot_loss_curves(runs: dict[str, list[dict]], path: str | Path, title: str = "") -> Path:
    """Write a PNG with the loss curves of ``runs`` (label -> Trainer ``log_history``).

    One panel per loss term found in any run (total first), each run a line, so runs with the
    same terms (span vs query context) are compared panel by panel. Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_run = {label: loss_series(history) for label, history in runs.items()}
    terms = sorted(
        {t for series in per_run.values() for t in series}, key=lambda t: (t != "total", t)
    )
    if not terms:
        raise ValueError("no loss values in the training logs")
    columns = min(3, len(terms))
    rows = -(-len(terms) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for axis, term in zip(axes.flat, terms, strict=False):
        for label, series in per_run.items():
            if term in series:
                axis.plot(*series[term], label=label, linewidth=1.4)
        axis.set_title(term)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(terms) :]:
        axis.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)
    return path
