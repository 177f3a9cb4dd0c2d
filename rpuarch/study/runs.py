"""Finished runs of a study, one small JSON file each under ``<report dir>/runs/``.

The runs folder is committed with the report, so a study advances across days and machines and
its report is regenerated from what is there. A run file is data only: the parts of the run's
report that the study's analysis reads (losses and curves, activity, headline hardware figures,
warnings, provenance), a few kilobytes to tens of kilobytes.

A run is identified by its key: the sha256 of what it computes, namely the resolved workload
without the corpus's name or path, the sha256 of the corpus's content, and the numerics version
(rpuarch.nn.NUMERICS_VERSION), and the numerics backend when it is not numba (RPUARCH_BACKEND=numpy
gives other numbers of the same distribution). The same run on another machine, with the corpus at another path,
has the same key; a run of a changed workload, corpus or numerics has another and is never mixed
in. (BLAS may round differently on another machine: runs are equal in what they compute, not
necessarily to the last bit.)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..config import DatasetConfig, LoadedWorkload
from ..errors import UserError
from ..files import atomic_write_json, to_jsonable
from ..nn import NUMERICS_VERSION
from ..run import slug
from .points import StudyPoint

SCHEMA = "rpuarch.study-run/1"
DIRNAME = "runs"
# Scalars of the report's hardware section a study reads (the rest of the estimate is rebuilt by `rpuarch run`).
HARDWARE_KEYS = ("tiles", "area_mm2", "time_per_char_s", "latency_s", "energy_per_char_J", "power_W", "epoch_time_s",
                 "training_time_s", "ops_per_s_per_W", "peak_ops_per_s", "tile_area_mm2")
BASELINE_KEYS = ("name", "kind", "preset", "epoch_time_s", "acceleration_factor", "energy_ratio")


def corpus_digest(dataset: DatasetConfig) -> str:
    """sha256 of the corpus's content: of its file for one file, of the files' names and sha256 for several."""
    from ..nn.corpus import corpus_files, sha256_of

    _, files = corpus_files(dataset)
    if len(files) == 1:
        return sha256_of(files[0])
    listing = "".join(f"{path.name}\0{sha256_of(path)}\n" for path in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def run_key(loaded: LoadedWorkload, data_sha256: str) -> str:
    from ..run import numerics_backend

    workload = loaded.workload.model_dump(mode="json")
    workload["dataset"] = {k: v for k, v in workload["dataset"].items() if k not in ("name", "path")}
    identity = {"workload": workload, "data_sha256": data_sha256, "numerics": NUMERICS_VERSION}
    if numerics_backend() != "numba":  # the numpy fallback's numbers differ; numba's runs keep their keys
        identity["backend"] = numerics_backend()
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def run_record(report: dict[str, Any], point: StudyPoint, data_sha256: str) -> dict[str, Any]:
    """The run file's content: what a study reads of the run's report (same paths), and provenance."""
    hardware = report.get("hardware", {})
    record = {
        "schema": SCHEMA,
        "key": point.key,
        "numerics": NUMERICS_VERSION,
        "condition": point.condition,
        "seed": point.seed,
        "coords": point.coords,
        "data": {k: report.get("data", {}).get(k) for k in ("chars", "vocab_size")} | {"sha256": data_sha256},
        "network": {k: report.get("network", {}).get(k) for k in ("vocab_size", "hidden", "lstm_layers", "dropout", "weights")},
        "training": report.get("training", {}),
        "accuracy": _without_bpc(report.get("accuracy", {})),
        "activity": report.get("activity", {}),
        "hardware": {k: hardware.get(k) for k in HARDWARE_KEYS if k in hardware},
        "baselines": [{k: b.get(k) for k in BASELINE_KEYS if k in b} for b in report.get("baselines", [])],
        "timing": report.get("timing", {}),
        "warnings": report.get("warnings", []),
        "resumed": report.get("resumed", 0),
        "diverged": report.get("diverged"),
        "workload": {k: report.get("workload", {}).get(k) for k in ("resolved_sha256", "resolved")},
        "versions": report.get("versions", {}),
        "run": report.get("run", {}),
    }
    return json.loads(json.dumps(to_jsonable(record)))  # exactly what a later read of the file gives


def _without_bpc(tree: Any) -> Any:
    """The accuracy section without its bits-per-character copies of every loss (loss / ln 2): a
    50-epoch run file stays well under 50 KB."""
    if isinstance(tree, dict):
        return {k: _without_bpc(v) for k, v in tree.items() if not k.endswith("_bpc")}
    if isinstance(tree, list):
        return [_without_bpc(v) for v in tree]
    return tree


class RunStore:
    """The runs folder of one study report."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def file_for(self, point: StudyPoint) -> Path:
        return self.directory / f"{slug(point.condition)}-seed{point.seed}-{point.key[:12]}.json"

    def get(self, point: StudyPoint) -> dict[str, Any] | None:
        path = self.file_for(point)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            ok = record["schema"] == SCHEMA and record["key"] == point.key
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise UserError(f"{path} is not the study run file its name says (another schema or key); remove it to run it again.")
        return record

    def copy_from_sibling(self, point: StudyPoint) -> dict[str, Any] | None:
        """The same run (the same key) from another study's runs folder beside this one, written
        into this folder as this study's point (its condition, seed and coordinates, and where it came
        from), or None. Studies share their reference settings: one committed run serves them all."""
        for path in sorted(self.directory.parent.parent.glob(f"*/{DIRNAME}/*-{point.key[:12]}.json")):
            if path.parent == self.directory:
                continue
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if record.get("schema") != SCHEMA or record.get("key") != point.key:
                continue
            record.update(condition=point.condition, seed=point.seed, coords=point.coords,
                          copied_from=f"{path.parent.parent.name}/{DIRNAME}/{path.name}")
            self.put(point, record)
            return record
        return None

    def put(self, point: StudyPoint, record: dict[str, Any]) -> Path:
        return atomic_write_json(self.file_for(point), record)

    def others(self, used: set[Path]) -> list[Path]:
        """Run files this study does not use at this scale (other scales, seeds, workloads or numerics)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.json") if p not in used)
