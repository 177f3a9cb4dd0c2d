"""``rpuarch presets``, ``rpuarch validate`` and ``rpuarch docs``."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from rich.markup import escape

from ..config import list_presets, load_workload
from ..errors import UserError
from . import add_overrides, err_console


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("presets", help="list the presets under models/")
    p.add_argument("kind", nargs="?", choices=["device", "tile", "chip", "baseline"])
    p.set_defaults(handler=cmd_presets)

    p = subparsers.add_parser(
        "validate", help="check workload files without running them",
        description="Check each workload: fields, types and ranges, presets, the dataset (exists, large enough for "
        "the batching) and that the network fits the chip. Nothing is trained or written. Exit status 2 if any "
        "workload is invalid.",
    )
    p.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="workload YAML files (default: the embedded quickstart)")
    add_overrides(p)
    p.add_argument("--schema-only", action="store_true", help="check fields only: do not read the dataset or map the network")
    p.set_defaults(handler=cmd_validate)

    p = subparsers.add_parser("docs", help="regenerate docs/workload.md (every workload field) from the models")
    p.add_argument("--check", action="store_true", help="only check that docs/workload.md is up to date (exit 1 if not)")
    p.set_defaults(handler=cmd_docs)


def cmd_presets(args: argparse.Namespace) -> int:
    table = Table(title="Presets (models/)")
    table.add_column("kind")
    table.add_column("name", style="bold")
    table.add_column("description")
    for kind, entries in list_presets(args.kind).items():
        for name, description in entries:
            table.add_row(kind, name, " ".join(description.split()))
    Console().print(table)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    invalid = 0
    for path in args.workloads or [None]:
        try:
            loaded = load_workload(path, args.overrides)
            if not args.schema_only:
                from ..run import preflight

                preflight(loaded)
        except UserError as exc:
            invalid += 1
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
            continue
        w = loaded.workload
        console.print(
            f"[green]valid[/]: {escape(str(loaded.path))} ({escape(w.name)}; device {w.device.preset or w.device.type}, "
            f"tile {w.tile.rows} x {w.tile.cols}, {w.network.layers} x {w.network.hidden} LSTM; "
            f"sha256 {loaded.sha256[:12]})"
        )
    return 2 if invalid else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from ..report.fields import main

    return main(["--check"] if args.check else [])
