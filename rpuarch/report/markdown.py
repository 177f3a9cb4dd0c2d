"""report.md and comparison.md: reports that read well on their own."""

from __future__ import annotations

from typing import Any

from .tables import Table, headline, run_tables
from .warnings import warning_lines


def markdown_table(table: Table) -> str:
    def cell(r: int, c: int, text: str) -> str:
        text = text.replace("|", "\\|")
        return f"**{text}**" if (r, c) in table.bold else text

    lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(r, c, t) for c, t in enumerate(row)) + " |" for r, row in enumerate(table.rows)]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def render_markdown(report: dict[str, Any], plots: list[str]) -> str:
    """The Markdown report of one run; ``plots`` are PNG file names beside it."""
    w = report.get("workload", {})
    resolved = w.get("resolved", {})
    net, train = resolved.get("network", {}), resolved.get("training", {})
    device = resolved.get("device", {})
    run = report.get("run", {})
    out = [
        f"# rpuarch report: {report.get('name')}",
        "",
        f"A {net.get('layers')} x {net.get('hidden')} LSTM character-level language model trained for "
        f"{train.get('epochs')} epoch(s) on {report.get('data', {}).get('source', 'the dataset')} with the "
        f"{device.get('preset') or device.get('type')} device, beside its floating-point twin; then the chip "
        "that trains it, estimated with the activity this training measured.",
        "",
        f"- workload: `{w.get('path')}` (sha256 `{w.get('sha256', '')[:16]}`, resolved `{w.get('resolved_sha256', '')[:16]}`)",
        f"- seed: {report.get('seed')}",
        f"- run: {run.get('started')} to {run.get('finished')} on {run.get('host')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in report.get("versions", {}).items())
        + f"; numerics backend {report.get('backend')}",
        *([f"- resumed {report['resumed']} time(s) from a checkpoint of this run (the numbers are those of an"
           " uninterrupted run)"] if report.get("resumed") else []),
        *([f"- restarted: {run['restarted']}"] if run.get("restarted") else []),
        "",
        "## In short",
        "",
        headline(report),
        "",
    ]
    warnings = warning_lines(report)
    if warnings:
        out += ["## Warnings", "", *(f"- {line}" for line in warnings), ""]
    out += ["## Results", ""]
    for table in run_tables(report):
        out += [markdown_table(table), ""]
    if plots:
        out += ["## Plots", ""]
        out += [f"![{name}]({name})" for name in plots]
        out.append("")
    out += _provenance(report)
    return "\n".join(out).rstrip() + "\n"


def _provenance(report: dict[str, Any]) -> list[str]:
    w = report.get("workload", {})
    out = ["## Where the constants come from", ""]
    sources = report.get("sources") or {}
    if sources:
        out += [f"- `{k}`: {v}" for k, v in sorted(sources.items())]
    else:
        out.append("No preset with sources was used: every constant is the workload's or a default (docs/workload.md).")
    out += ["", "## Workload", "", "As given (the resolved workload, every field, is in report.json under workload.resolved):", "", "```yaml", w.get("text", "").rstrip(), "```", ""]
    return out


def render_comparison_markdown(title: str, intro: str, tables: list[Table]) -> str:
    out = [f"# {title}", "", intro, ""]
    for table in tables:
        out += [markdown_table(table), ""]
    return "\n".join(out).rstrip() + "\n"
