"""The coupled run: train on RPU tiles (and the floating-point twin), then estimate the chip with
what training measured, and write one report.

``run(loaded, out_dir)`` is the whole of ``rpuarch run``; ``compute_report`` and ``write_report``
are its two halves, used apart by sweeps (a worker computes, the client writes).

Crash safety: every file is written atomically, and ``report.json`` is written last, so a
directory holds a finished report exactly when it holds ``report.json``. Training checkpoints
live in the same directory, so running again resumes where an interrupted run stopped.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import platform
import re
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import __version__
from .config import LoadedWorkload
from .config.loader import REPO_ROOT
from .errors import ConfigError, UserError
from .files import atomic_write_json, atomic_write_text
from .report.warnings import warnings_of

REPORT_SCHEMA = "rpuarch.report/1"
REPORT_FILE = "report.json"
REPORT_MD = "report.md"
DEFAULT_RUNS_DIR = Path("runs")
# Third-party packages whose versions go into every report.
VERSIONED_PACKAGES = ("numpy", "numba", "simpy", "pydantic", "PyYAML", "rich", "matplotlib")


def default_out_dir(loaded: LoadedWorkload, root: Path = DEFAULT_RUNS_DIR) -> Path:
    """``runs/<name>-<hash8>``: one directory per resolved workload, so a re-run finds its run."""
    return root / f"{slug(loaded.workload.name)}-{loaded.resolved_sha256[:8]}"


def runs_dir(name: str, what: str) -> Path:
    """``runs/<name>-<what>``, the default output directory of a command (train, compare, sweep)
    on workload ``name``: its runs share the directory, and so their cache."""
    return DEFAULT_RUNS_DIR / f"{slug(name)}-{what}"


def slug(name: str) -> str:
    """A workload name made safe for a directory name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"


def run(loaded: LoadedWorkload, out_dir: str | Path, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train, estimate, write ``out_dir/report.json``, ``report.md`` and plots; return the report.

    With ``resume``, a finished report of the same resolved workload in ``out_dir`` is returned
    as it is, and an interrupted run continues from its last checkpoint (training decides whether
    the checkpoint fits the workload). Without, the run starts over. Bad input raises a
    ``UserError`` before ``out_dir`` is created.
    """
    out_dir = Path(out_dir)
    if resume:
        finished = read_finished_report(out_dir, loaded.resolved_sha256)
        if finished is not None:
            return finished
    report = compute_report(loaded, out_dir, resume=resume, progress=progress)
    write_report(report, out_dir)
    return report


def read_finished_report(out_dir: Path, key: str) -> dict[str, Any] | None:
    """The finished report in ``out_dir`` if it is of the workload with resolved hash ``key``."""
    path = out_dir / REPORT_FILE
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        found = report["workload"]["resolved_sha256"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path} is not an rpuarch report; give another output directory (--out).") from None
    return report if found == key else None


def preflight(loaded: LoadedWorkload) -> None:
    """Every check that needs no training, before anything is written: the dataset exists and is
    large enough for the batching, the network fits the chip, the hardware description is
    physically possible. Cheap (no simulation); raises a ``UserError`` naming file and field."""
    from .arch.components import build_hardware, require_training_reads
    from .arch.network import check_fits, lstm_network
    from .nn.corpus import read_corpus
    from .nn.data import check_trainable, split_corpus

    w = loaded.workload
    with _attributed(loaded):
        data = split_corpus(read_corpus(w.dataset), w.dataset)
        check_trainable(data, w.training.streams, w.training.seq_length)
        network = lstm_network(data.vocab.size, w.network.hidden, w.network.layers, w.tile.rows, w.tile.cols,
                               w.training.streams, w.training.seq_length, w.network.bias, w.network.arrays)
        check_fits(network, w.chip.tiles * w.tile.arrays, "workload", w.tile.arrays)
        require_training_reads(w.tile, "workload")
        build_hardware(w.tile, w.chip, w.io, w.update, "workload")


def compute_report(loaded: LoadedWorkload, work_dir: str | Path, resume: bool = False, progress: bool = True,
                   twin_dir: str | Path | None = None) -> dict[str, Any]:
    """Train (checkpoints in ``work_dir``), estimate with the measured activity, assemble the report.

    ``twin_dir``: a twin cache (rpuarch.nn.twin_cache) shared by the points of a sweep or study: the
    floating-point twin is taken from it when an earlier point trained the same twin (then the
    measured-host baseline uses that twin's measured speed), else trained and stored there.
    """
    from .arch.estimate import estimate
    from .nn.train import train

    from .nn import checkpoint
    from .nn.twin_cache import TwinCache

    work_dir = Path(work_dir)
    preflight(loaded)
    _forget_report(work_dir)
    resume = resume and checkpoint.path_in(work_dir).is_file()
    started = time.time()
    with _attributed(loaded):
        try:
            twins = TwinCache(twin_dir) if twin_dir is not None else None
            trained = train(loaded, out_dir=work_dir, resume=resume, progress=progress, twins=twins)
        except UserError as exc:
            if resume:
                exc.args = (f"{exc} (This run resumed from the checkpoint in {work_dir}; --fresh starts over.)",)
            raise
        twin = trained["timing"]["fp"]
        estimated = estimate(
            loaded.workload,
            activity=trained["activity"],
            vocab_size=trained["network"]["vocab_size"],
            measured_host_chars_per_s=(twin.get("host") or twin)["chars_per_s"],
            measured_host_conditions=twin.get("host"),
            train_chars=trained["data"]["chars"]["train"],
        )
    return assemble_report(loaded, trained, estimated, started, time.time())


def assemble_report(loaded: LoadedWorkload, trained: dict[str, Any], estimated: dict[str, Any], started: float, finished: float) -> dict[str, Any]:
    """One report: everything of train.json and of the estimate, plus provenance."""
    w = loaded.workload
    report: dict[str, Any] = {"schema": REPORT_SCHEMA, "name": w.name, "seed": w.seed}
    # train.json's own provenance (schema, workload, seed, versions) gives way to the report's.
    report.update({k: v for k, v in trained.items() if k not in ("schema", "name", "workload", "seed", "versions")})
    report.update(estimated)
    report["workload"] = {
        "path": str(loaded.path) if loaded.path else None,
        "sha256": loaded.sha256,
        "resolved_sha256": loaded.resolved_sha256,
        "text": loaded.text,
        "resolved": w.model_dump(mode="json"),
        "origins": loaded.origins,
    }
    # Every constant's source: the workload's presets, and the hardware presets the estimate used.
    report["sources"] = {**w.sources, **estimated.get("hardware", {}).get("sources", {})}
    report["versions"] = versions()
    report["run"] = {
        "started": _iso(started),
        "finished": _iso(finished),
        "wall_s": finished - started,
        "host": platform.node(),
    }
    report["warnings"] = warnings_of(report)  # training's, and the chip's sizing checks
    return report


def write_report(report: dict[str, Any], out_dir: str | Path, plots: bool = True) -> list[Path]:
    """Write plots, ``report.md``, then ``report.json`` (last: it marks the report finished)."""
    from .report.markdown import render_markdown
    from .report.plots import write_run_plots

    out_dir = Path(out_dir)
    written = write_run_plots(report, out_dir) if plots else []
    written.append(atomic_write_text(out_dir / REPORT_MD, render_markdown(report, [p.name for p in written])))
    written.append(atomic_write_json(out_dir / REPORT_FILE, report))
    return written


def versions() -> dict[str, str]:
    out = {"rpuarch": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for package in VERSIONED_PACKAGES:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    commit = _git_commit()
    if commit:
        out["rpuarch_git"] = commit
    return out


def _git_commit() -> str | None:
    """The source checkout's commit (with ``-dirty`` when it has local changes), if there is one."""
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no", "--", "rpuarch"],
            capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _forget_report(out_dir: Path) -> None:
    # A report already there is not this run's (it was finished with another workload, or the
    # run starts over): it must not pass for this run's result if this run is interrupted.
    (out_dir / REPORT_FILE).unlink(missing_ok=True)


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="seconds")


@contextmanager
def _attributed(loaded: LoadedWorkload) -> Iterator[None]:
    """Name the workload file in errors the engines raise without knowing it.

    The engines see a ``Workload``, not the file it came from; their ``ConfigError``s say
    ``workload``. Here they get the file (or ``--set``) the offending field came from, and other
    user errors get the workload file in front.
    """
    where = str(loaded.path) if loaded.path else "workload"
    try:
        yield
    except ConfigError as exc:
        if exc.source != "workload":
            raise
        raise ConfigError(_origin(loaded, exc.field), exc.field, exc.problem, exc.allowed) from None
    except UserError as exc:
        if where not in str(exc):
            exc.args = (f"{where}: {exc}",) + exc.args[1:]
        raise


def _origin(loaded: LoadedWorkload, field: str | None) -> str:
    """The file (or ``--set``) a field came from; the workload file for defaults and presets."""
    probe = field or ""
    while probe:
        if probe in loaded.origins:
            return loaded.origins[probe]
        probe = probe.rpartition(".")[0]
    return str(loaded.path) if loaded.path else "workload"
