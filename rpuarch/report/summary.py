"""Reports in the terminal: rich tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from .tables import Table, headline, run_tables


def to_rich(table: Table) -> RichTable:
    out = RichTable(
        title=escape(table.title), title_justify="left", caption=escape(table.note) if table.note else None,
        caption_justify="left",
    )
    for i, column in enumerate(table.columns):
        # Headers carry the units: never let rich squeeze them away.
        out.add_column(escape(column), justify="left" if i == 0 else "right", style="bold" if i == 0 else None,
                       min_width=max(len(word) for word in column.split()))
    for r, row in enumerate(table.rows):
        out.add_row(*(f"[bold green]{escape(cell)}[/]" if (r, c) in table.bold else escape(cell) for c, cell in enumerate(row)))
    return out


def print_tables(tables: list[Table], console: Console | None = None) -> None:
    console = console or Console()
    for table in tables:
        console.print(to_rich(table))
        console.print()


def print_run_summary(report: dict[str, Any], out_dir: str | None = None, console: Console | None = None) -> None:
    """The summary ``rpuarch run`` prints: accuracy, mapping, chip, baselines, timing."""
    console = console or Console()
    workload = report.get("workload", {})
    console.rule(f"[bold]{escape(str(report.get('name')))}[/] (seed {report.get('seed')})")
    print_tables(run_tables(report), console)
    console.print(escape(headline(report)))
    console.print()
    if out_dir is not None:
        console.print(f"Report: [bold]{escape(str(out_dir))}/report.md[/] (and report.json, plots); "
                      f"workload sha256 {workload.get('sha256', '')[:12]}")
