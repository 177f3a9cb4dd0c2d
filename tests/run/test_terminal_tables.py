"""Tables fit the terminal: a table wider than the console is split into parts that each fit,
with the columns that name a row repeated, instead of being cropped by rich."""

import io

from rich.console import Console

from rpuarch.report.summary import fit, print_tables
from rpuarch.report.tables import Table


def wide_table() -> Table:
    columns = ["point", "status"] + [f"metric number {i} [nats/char]" for i in range(9)]
    rows = [[f"p{r}", "done"] + [f"{r + i / 7:.4f}" for i in range(9)] for r in range(3)]
    return Table("A wide sweep", columns, rows, note="the note", bold={(1, 5)}, keys=2)


def test_a_wide_table_is_split_into_parts_that_fit_and_keep_every_column():
    table = wide_table()
    parts = fit(table, 80)
    assert len(parts) > 1
    shown = [c for part in parts for c in part.columns[2:]]
    assert shown == table.columns[2:]
    assert all(part.columns[:2] == ["point", "status"] for part in parts)
    assert [p.note for p in parts] == [None] * (len(parts) - 1) + ["the note"]
    column = next(i for i, p in enumerate(parts) if table.columns[5] in p.columns)
    assert parts[column].bold == {(1, parts[column].columns.index(table.columns[5]))}
    assert fit(table, 1000) == [table]


def test_printed_tables_are_never_wider_than_the_console():
    for width in (60, 80, 120):
        out = io.StringIO()
        print_tables([wide_table()], Console(file=out, width=width))
        text = out.getvalue()
        assert max(len(line) for line in text.splitlines()) <= width
        for i in range(9):  # every value is shown whole (rich crops with "…" when squeezed)
            assert f"{2 + i / 7:.4f}" in text
        assert "…" not in text
