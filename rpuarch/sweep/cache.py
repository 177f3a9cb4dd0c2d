"""Finished points, by their cache key (rpuarch.run.cache_key: the resolved workload, the text it
trained on, the rpuarch and numerics versions and the numerics backend): a point is never computed
twice.

Each point owns a directory ``<root>/<key16>/``: its training checkpoints while it runs, then its
run report (``report.json`` written last, so its presence means finished, and ``report.md``). The
layout of ``rpuarch run``'s output directory, so a cached point is an ordinary run a user can open;
its per-run plots are left out by default (the study's plots summarise the points, and plotting
every point would cost the client more than a short point's training). ``<root>/fp/`` holds the
floating-point twins the points share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files import check_writable_dir
from ..nn.twin_cache import DIRNAME as TWIN_DIRNAME
from ..run import read_finished_report, write_report


def check_output_dirs(out_dir: str | Path, cache_dir: str | Path | None) -> None:
    """A study's --out and --cache can be written, before any point runs."""
    check_writable_dir(out_dir, "--out")
    if cache_dir is not None:
        check_writable_dir(cache_dir, "--cache")


class ResultCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def twin_dir(self) -> Path:
        """Trained floating-point twins shared by the points (rpuarch.nn.twin_cache)."""
        return self.root / TWIN_DIRNAME

    def dir_for(self, key: str) -> Path:
        return self.root / key[:16]

    def get(self, key: str) -> dict[str, Any] | None:
        """The finished report of the point with cache key ``key``, if there is one; an
        ``UnreadableReport`` when its report.json is broken (the point is then computed again)."""
        return read_finished_report(self.dir_for(key), key)

    def put(self, key: str, report: dict[str, Any], plots: bool = False) -> Path:
        directory = self.dir_for(key)
        write_report(report, directory, plots=plots)
        return directory
