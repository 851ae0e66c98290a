"""Metric tables (systems x measures) for the terminal (rich) and for reports (GitHub markdown)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text

Results = Mapping[str, Mapping[str, float]]

MISSING = "-"


def _layout(
    results: Results, highlight_best: bool
) -> tuple[list[str], list[tuple[str, list[tuple[str, bool]]]]]:
    """Columns (measures in order of first appearance) and rows of (cell text, is best) pairs.

    Values are shown with 4 decimals; the best (highest) shown value of each column is marked,
    every system that ties with it included.
    """
    columns: list[str] = list(dict.fromkeys(m for values in results.values() for m in values))
    best: dict[str, str] = {}
    if highlight_best and len(results) > 1:
        for column in columns:
            shown = [values[column] for values in results.values() if column in values]
            best[column] = f"{max(shown):.4f}"
    rows = []
    for system, values in results.items():
        cells = []
        for column in columns:
            if column in values:
                text = f"{values[column]:.4f}"
                cells.append((text, best.get(column) == text))
            else:
                cells.append((MISSING, False))
        rows.append((system, cells))
    return columns, rows


def metrics_table(
    results: Results,
    title: str | None = None,
    *,
    highlight_best: bool = True,
    label: str = "system",
) -> Table:
    """Rich table: one row per system (``results`` key), one column per measure, 4 decimals.

    The best value of each column is bold (higher is better; only with two or more systems).
    A measure a system lacks shows as "-". ``label`` heads the first column.
    """
    columns, rows = _layout(results, highlight_best)
    table = Table(title=Text(title) if title else None)
    table.add_column(Text(label), style="cyan", no_wrap=True)
    for column in columns:
        table.add_column(Text(column), justify="right")
    for system, cells in rows:
        shown = [Text(text, style="bold" if best else "") for text, best in cells]
        table.add_row(Text(system), *shown)
    return table


def _escape_markdown(text: str) -> str:
    return text.replace("|", "\\|")


def metrics_markdown(
    results: Results,
    title: str | None = None,
    *,
    highlight_best: bool = True,
    label: str = "system",
) -> str:
    """The table of :func:`metrics_table` as GitHub markdown (best values in ``**bold**``).

    A title, if given, comes first as a bold line. The text ends with a newline.
    """
    columns, rows = _layout(results, highlight_best)
    lines = []
    if title:
        lines += [f"**{_escape_markdown(title)}**", ""]
    header = [_escape_markdown(text) for text in (label, *columns)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---", *("---:" for _ in columns)]) + "|")
    for system, cells in rows:
        shown = [f"**{text}**" if best else text for text, best in cells]
        lines.append("| " + " | ".join([_escape_markdown(system), *shown]) + " |")
    return "\n".join(lines) + "\n"
