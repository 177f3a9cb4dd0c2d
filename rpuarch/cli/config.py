"""``rpuarch presets``, ``rpuarch validate`` and ``rpuarch docs``."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from ..config import list_presets, load_workload
from . import add_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("presets", help="list the presets under models/")
    p.add_argument("kind", nargs="?", choices=["device", "tile", "chip", "baseline"])
    p.set_defaults(handler=cmd_presets)

    p = subparsers.add_parser("validate", help="check a workload file without running it")
    p.add_argument("workload", nargs="?", help="workload YAML (default: the embedded quickstart)")
    add_overrides(p)
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
    loaded = load_workload(args.workload, args.overrides)
    w = loaded.workload
    Console().print(
        f"[green]valid[/]: {loaded.path} ({w.name}; device {w.device.preset or w.device.type}, "
        f"tile {w.tile.rows} x {w.tile.cols}, {w.network.layers} x {w.network.hidden} LSTM; "
        f"sha256 {loaded.sha256[:12]})"
    )
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from ..report.fields import main

    return main(["--check"] if args.check else [])
