"""The generated parts of docs/hardware.md: parameter reference, paper comparison, baselines, DeepBench.

``python -m rpuarch.arch.hardware_docs`` rewrites the generated blocks of docs/hardware.md from
the pydantic models, the presets and fresh estimates; ``--check`` exits 1 when the file differs
from what they say today (a test runs it), so no number in those blocks is ever typed by hand.
"""

from __future__ import annotations

import argparse
import functools

from ..config import BaselineConfig, list_presets, load_preset
from ..config.hardware import BlockSpec, ChipConfig, TileConfig
from ..config.loader import REPO_ROOT, resolve
from ..config.workload import ActivityConfig
from ..report.fields import cell, walk, write_or_check
from . import deepbench
from .paper_table import render, rows

DOC_PATH = REPO_ROOT / "docs" / "hardware.md"
BLOCKS = ("parameters", "paper-table", "baseline-presets", "deepbench", "baselines-best-batch")


def markers(name: str) -> tuple[str, str]:
    return (f"<!-- BEGIN GENERATED {name}: python -m rpuarch.arch.hardware_docs -->",
            f"<!-- END GENERATED {name} -->")


def parameter_tables() -> str:
    """Every hardware field: meaning, unit, range, the 2016 presets' value and its source."""
    defaults, _ = resolve({"tile": {"preset": "gokmen-vlasov-2016"}, "chip": {"preset": "rpu-2016"}}, "docs")
    sources = defaults.sources
    sections = [
        ("tile", TileConfig, defaults.tile, sources,
         "One tile: the `gokmen-vlasov-2016` preset's values (also the defaults)."),
        ("chip", ChipConfig, defaults.chip, sources,
         "The chip: the `rpu-2016` preset's values (also the defaults)."),
        ("tile.blocks.<name>", BlockSpec, BlockSpec(), {},
         "A named digital block of a tile (or, as `chip.blocks.<name>`, of the chip), charged at its power while"
         " the tile (chip) is on: buffers, registers, shift-and-add units, I/O links. None in the 2016 presets;"
         " the `isaac-ce` chip lists ISAAC's."),
        ("activity", ActivityConfig, ActivityConfig(), {},
         "Expected activity, used when no training run measured it (defaults are assumptions)."),
        ("baselines[]", BaselineConfig, None, {},
         "A digital baseline; the presets under models/baselines/ give their sources."),
    ]
    out = []
    for prefix, model, defaults, sources, intro in sections:
        out.append(f"\n#### `{prefix}`\n\n{intro}\n\n| field | unit | range | value | meaning | source |\n|---|---|---|---|---|---|\n")
        for row in walk(model, defaults, f"{prefix}."):
            source = sources.get(row.path, "")
            out.append(f"| `{row.path}` | {row.unit or '-'} | {cell(row.kind)} | `{cell(row.default)}` |"
                       f" {cell(row.description)} | {cell(source)} |\n")
    return "".join(out).lstrip("\n")


def baseline_presets() -> str:
    """Every baseline preset: each constant's value and its tagged source."""
    out = []
    for name, description in list_presets("baseline")["baseline"]:
        preset = load_preset("baseline", name, "docs")
        out.append(f"\n#### `{name}`\n\n{' '.join(description.split())}\n\n| field | value | source |\n|---|---|---|\n")
        for key, value in preset.sections["baseline"].items():
            for path, leaf in (value.items() if isinstance(value, dict) else [(None, value)]):
                field = f"{key}.{path}" if path else key
                shown = str(leaf).lower() if isinstance(leaf, bool) else leaf
                out.append(f"| `{field}` | `{cell(shown)}` | {cell(preset.sources.get(field, ''))} |\n")
    return "".join(out).lstrip("\n")


def best_batch_table(results: list[dict]) -> str:
    """The paper's networks against each baseline at the workload's batch and at the baseline's
    throughput-best batch."""
    lines = ["| network | baseline | batch | speed-up, energy ratio | throughput-best batch | speed-up, energy ratio |",
             "|---|---|---|---|---|---|"]
    for r in results:
        for b in r["baselines"]:
            best = b["best_batch"]
            lines.append(f"| {r['label']} | {b['name']} | {b['batch']:,} | {ratio(b['acceleration_factor'])},"
                         f" {ratio(b['energy_ratio'])} | {best['batch']:,} | {ratio(best['acceleration_factor'])},"
                         f" {ratio(best['energy_ratio'])} |")
    return "\n".join(lines) + "\n"


def ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


paper_rows = functools.cache(rows)


def generated(name: str) -> str:
    body = {"parameters": parameter_tables, "paper-table": lambda: render(paper_rows()),
            "baseline-presets": baseline_presets, "deepbench": deepbench.render,
            "baselines-best-batch": lambda: best_batch_table(paper_rows())}[name]()
    begin, end = markers(name)
    return f"{begin}\n{body.rstrip()}\n{end}"


def splice(document: str, name: str, block: str) -> str:
    begin, end = markers(name)
    start, stop = document.index(begin), document.index(end) + len(end)
    return document[:start] + block + document[stop:]


def updated_document() -> tuple[str, str]:
    current = DOC_PATH.read_text(encoding="utf-8")
    text = current
    for name in BLOCKS:
        text = splice(text, name, generated(name))
    return current, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rpuarch.arch.hardware_docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/hardware.md is out of date")
    args = parser.parse_args(argv)
    _, text = updated_document()
    return write_or_check(DOC_PATH, text, args.check, "python -m rpuarch.arch.hardware_docs")


if __name__ == "__main__":
    raise SystemExit(main())
