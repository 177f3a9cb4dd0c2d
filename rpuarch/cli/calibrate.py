"""``rpuarch calibrate``: the model against published chips (workloads/calibration/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="reproduce published chips (HERMES, ISAAC, the 2016 RPU tile) and DeepBench with the model; write docs/calibration.md",
        description="Run every case under workloads/calibration/: each published figure, the model's, their ratio,"
        " the tolerance, pass or fail, and whether the figure was predicted or a constant was fitted to it."
        " Exit status 1 when a figure is outside its tolerance.",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write {\"cases\": [...]} as JSON")
    p.add_argument("--doc", type=Path, metavar="FILE", help="the Markdown page to update (default: docs/calibration.md of the source tree)")
    p.add_argument("--check", action="store_true", help="do not write the page; exit 1 when it is out of date")
    p.add_argument("--cases", type=Path, metavar="DIR", help="a folder of case files (default: workloads/calibration/)")
    p.set_defaults(handler=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..arch.calibrate import CASES_DIR, calibrate
    from ..arch.calibration_docs import DOC_PATH, updated
    from ..files import atomic_write_json
    from ..report.fields import write_or_check
    from ..report.units import si

    result = calibrate(args.cases or CASES_DIR)
    console = Console()
    table = Table(title="Published chips against the model")
    for column in ("case", "figure", "published", "model", "ratio", "tol.", "role", ""):
        table.add_column(column, justify="right" if column in ("published", "model", "ratio", "tol.") else "left")
    for row in result["cases"]:
        table.add_row(row["name"], row["label"], si(row["published"], row["unit"]), si(row["model"], row["unit"]),
                      f"{row['ratio']:.3f}", f"±{100 * row['tolerance']:.0f} %", row["role"],
                      "[green]pass[/]" if row["pass"] else "[bold red]FAIL[/]")
    console.print(table)
    if args.json is not None:
        atomic_write_json(args.json, result)
        console.print(f"[green]wrote[/] {args.json}")
    doc = args.doc or DOC_PATH
    status = 0
    if args.doc is not None or doc.parent.is_dir():
        status = write_or_check(doc, updated(doc, result), args.check, "rpuarch calibrate")
    failed = [r for r in result["cases"] if not r["pass"]]
    if failed:
        console.print(f"[bold red]{len(failed)} published figure(s) outside their tolerance.[/]")
        return 1
    return status
