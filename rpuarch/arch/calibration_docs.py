"""The generated table of docs/calibration.md (``rpuarch calibrate`` rewrites it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.loader import REPO_ROOT
from .calibrate import render

DOC_PATH = REPO_ROOT / "docs" / "calibration.md"
BEGIN = "<!-- BEGIN GENERATED calibration: rpuarch calibrate -->"
END = "<!-- END GENERATED calibration -->"


def updated(path: Path, result: dict[str, Any]) -> str:
    """The page with its generated block replaced (the block alone when the page has none)."""
    block = f"{BEGIN}\n{render(result).rstrip()}\n{END}"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if BEGIN not in current:
        return f"# Calibration\n\n{block}\n"
    start, stop = current.index(BEGIN), current.index(END) + len(END)
    return current[:start] + block + current[stop:]
