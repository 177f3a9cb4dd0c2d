"""Reports in the terminal: rich tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from .tables import Table, headline, run_tables
from .warnings import warning_lines


def to_rich(table: Table, narrow: bool = False) -> RichTable:
    """The table for rich; ``narrow``: every column as narrow as its cells and the longest word of
    its header allow (headers wrap), as ``fit`` measured it."""
    out = RichTable(
        title=None if narrow else escape(table.title), title_justify="left",
        caption=None if narrow else escape(table.note) if table.note else None, caption_justify="left",
    )
    for i, column in enumerate(table.columns):
        # Headers carry the units: never let rich squeeze them away.
        out.add_column(escape(column), justify="left" if i == 0 else "right", style="bold" if i == 0 else None,
                       min_width=_longest_word(column), width=_width(table, i, narrow) if narrow else None)
    for r, row in enumerate(table.rows):
        out.add_row(*(f"[bold green]{escape(cell)}[/]" if (r, c) in table.bold else escape(cell) for c, cell in enumerate(row)))
    return out


def print_tables(tables: list[Table], console: Console | None = None) -> None:
    console = console or Console()
    for table in tables:
        parts = fit(table, console.width)
        for part in parts:
            narrow = len(parts) > 1 or _total(part, narrow=False) > console.width
            if narrow:  # title and note as wide as the console, not as the narrow table
                console.print(f"[italic]{escape(part.title)}[/]")
            console.print(to_rich(part, narrow))
            if part.note and narrow:
                console.print(escape(part.note))
            console.print()


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _width(table: Table, column: int, narrow: bool) -> int:
    """Text width of a column: its widest cell (cells never wrap) and its header, whole or (narrow)
    wrapped at spaces."""
    header = table.columns[column]
    return max([_longest_word(header) if narrow else len(header), *(len(row[column]) for row in table.rows)])


def _total(table: Table, narrow: bool) -> int:
    """Characters a rich table of ``table`` takes: text, one space of padding each side and one
    border per column, and the closing border."""
    return sum(_width(table, c, narrow) + 3 for c in range(len(table.columns))) + 1


def fit(table: Table, width: int) -> list[Table]:
    """``table`` split into tables no wider than ``width`` characters when it is wider even with
    narrow columns, each with the key columns first (rich would otherwise crop it)."""
    if _total(table, narrow=True) <= width:
        return [table]

    def needs(column: int) -> int:
        return _width(table, column, narrow=True) + 3

    available = width - 1 - sum(needs(c) for c in range(table.keys))
    groups: list[list[int]] = [[]]
    used = 0
    for column in range(table.keys, len(table.columns)):
        if groups[-1] and used + needs(column) > available:
            groups.append([])
            used = 0
        groups[-1].append(column)
        used += needs(column)
    return table.columns_split(groups)


def print_run_summary(report: dict[str, Any], out_dir: str | None = None, console: Console | None = None) -> None:
    """The summary ``rpuarch run`` prints: accuracy, mapping, chip, baselines, timing."""
    console = console or Console()
    workload = report.get("workload", {})
    console.rule(f"[bold]{escape(str(report.get('name')))}[/] (seed {report.get('seed')})")
    print_tables(run_tables(report), console)
    console.print(escape(headline(report)))
    console.print()
    print_warnings(report, console)
    if out_dir is not None:
        console.print(f"Report: [bold]{escape(str(out_dir))}/report.md[/] (and report.json, plots); "
                      f"workload sha256 {workload.get('sha256', '')[:12]}")


def print_warnings(report: dict[str, Any], console: Console | None = None) -> None:
    """The report's warnings (rpuarch.report.warnings), one paragraph each; nothing when none."""
    console = console or Console()
    for line in warning_lines(report):
        console.print(f"[bold yellow]warning:[/] {escape(line)}")
    if report.get("warnings"):
        console.print()
