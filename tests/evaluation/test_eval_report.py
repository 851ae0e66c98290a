"""Metric tables: 4 decimals, best value per column marked, missing values, markdown layout."""

from __future__ import annotations

from rich.console import Console

from qcpt.evaluation import metrics_markdown, metrics_table

RESULTS = {
    "bm25": {"nDCG@10": 0.68612, "R@100": 0.9},
    "dense | qc": {"nDCG@10": 0.7, "R@100": 0.90004},  # R@100 ties bm25 at 4 decimals
    "minilm": {"nDCG@10": 0.64512},
}


def test_metrics_markdown():
    assert metrics_markdown(RESULTS, title="SciFact test") == (
        "**SciFact test**\n"
        "\n"
        "| system | nDCG@10 | R@100 |\n"
        "|---|---:|---:|\n"
        "| bm25 | 0.6861 | **0.9000** |\n"
        "| dense \\| qc | **0.7000** | **0.9000** |\n"
        "| minilm | 0.6451 | - |\n"
    )


def test_metrics_markdown_single_system_has_no_bold():
    assert metrics_markdown({"bm25": {"AP": 0.25}}) == (
        "| system | AP |\n|---|---:|\n| bm25 | 0.2500 |\n"
    )
    assert metrics_markdown(
        {"q1": {"AP": 0.25}, "q2": {"AP": 0.5}}, highlight_best=False, label="query"
    ) == ("| query | AP |\n|---|---:|\n| q1 | 0.2500 |\n| q2 | 0.5000 |\n")


def test_metrics_table():
    table = metrics_table(RESULTS, title="SciFact test")
    assert [str(column.header) for column in table.columns] == ["system", "nDCG@10", "R@100"]
    ndcg = list(table.columns[1].cells)
    assert [str(cell) for cell in ndcg] == ["0.6861", "0.7000", "0.6451"]
    assert [cell.style for cell in ndcg] == ["", "bold", ""]
    recall = list(table.columns[2].cells)
    assert [str(cell) for cell in recall] == ["0.9000", "0.9000", "-"]
    assert [cell.style for cell in recall] == ["bold", "bold", ""]
    console = Console(record=True, width=100)
    console.print(table)
    text = console.export_text()
    assert "SciFact test" in text and "dense | qc" in text and "0.6451" in text


def test_metrics_table_without_highlight():
    table = metrics_table(RESULTS, highlight_best=False, label="query")
    assert str(table.columns[0].header) == "query"
    assert all(cell.style == "" for column in table.columns[1:] for cell in column.cells)
