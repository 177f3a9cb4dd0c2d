"""The coupled run: train on RPU tiles (and the floating-point twin), then estimate the chip with
what training measured, and write one report.

``run(loaded, out_dir)`` is the whole of ``rpuarch run``: ``plan_run`` checks everything and
decides what to do without writing anything, ``execute`` does it. ``compute_report`` and
``write_report`` are the two halves of the work, used apart by sweeps (a worker computes, the
client writes).

A result is keyed (``cache_key``) on the resolved workload, the sha256 of the text it trained on,
the rpuarch and numerics versions and the numerics backend: a finished report is shown again, and a
checkpoint resumed, only when all are the same, so changing a corpus file in place gives new numbers.

Crash safety: every file is written atomically, and ``report.json`` is written last, so a
directory holds a finished report exactly when it holds ``report.json``. Training checkpoints
live in the same directory, so running again resumes where an interrupted run stopped. A run that
is refused (bad input, an output directory holding another workload's run) writes nothing.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from . import __version__
from .config import LoadedWorkload
from .config.loader import REPO_ROOT
from .errors import ConfigError, UserError
from .files import atomic_write_json, atomic_write_text, check_writable_dir
from .report.metrics import lookup
from .report.warnings import warnings_of

if TYPE_CHECKING:
    from .nn.data import CharData

REPORT_SCHEMA = "rpuarch.report/1"
REPORT_FILE = "report.json"
REPORT_MD = "report.md"
DEFAULT_RUNS_DIR = Path("runs")
SLUG_CHARS = 64  # of a workload name in a directory name (file names are limited to 255 bytes)
# Third-party packages whose versions go into every report.
VERSIONED_PACKAGES = ("numpy", "numba", "simpy", "pydantic", "PyYAML", "rich", "matplotlib")
# What a finished report must hold to be shown or reused instead of computed.
REQUIRED_NUMBERS = ("accuracy.rpu.test_loss", "accuracy.fp.test_loss", "hardware.tiles", "hardware.energy_per_char_J")


class UnreadableReport(UserError):
    """A ``report.json`` that is not a complete rpuarch report (truncated, foreign, a stub)."""


def default_out_dir(loaded: LoadedWorkload, root: Path = DEFAULT_RUNS_DIR) -> Path:
    """``runs/<name>-<hash8>``: one directory per resolved workload, so a re-run finds its run."""
    return root / f"{slug(loaded.workload.name)}-{loaded.resolved_sha256[:8]}"


def runs_dir(name: str, what: str) -> Path:
    """``runs/<name>-<what>``, the default output directory of a command (train, compare, sweep)
    on workload ``name``: its runs share the directory, and so their cache."""
    return DEFAULT_RUNS_DIR / f"{slug(name)}-{what}"


def slug(name: str) -> str:
    """A workload name made safe (and short enough) for a directory name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:SLUG_CHARS].strip("-") or "run"


def numerics_backend() -> str:
    """The backend the tiles compute with (numba; numba-f32 or numpy with RPUARCH_BACKEND): each
    gives different numbers of the same distribution."""
    from .device.tile import default_backend

    return default_backend()


def cache_key(loaded: LoadedWorkload, text_sha256: str) -> str:
    """What a finished result is keyed on: the resolved workload, the text, the rpuarch and
    numerics versions (rpuarch.nn.NUMERICS_VERSION) and the backend."""
    from .nn import NUMERICS_VERSION

    fields = {"resolved_sha256": loaded.resolved_sha256, "text_sha256": text_sha256, "rpuarch": __version__,
              "numerics": NUMERICS_VERSION, "backend": numerics_backend()}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass
class RunPlan:
    """What ``run`` will do in ``out_dir``, decided before anything is written."""

    loaded: LoadedWorkload
    out_dir: Path
    key: str
    finished: dict[str, Any] | None = None  # this run's finished report: shown, not computed again
    resume_from: dict[str, int] | None = None  # epochs done by each network in the checkpoint continued
    replaces: str | None = None  # why the finished report in out_dir is not this run's, when it is replaced


def plan_run(loaded: LoadedWorkload, out_dir: str | Path, fresh: bool = False) -> RunPlan:
    """Check the workload, its data and ``out_dir``; find this run's finished report or the
    checkpoint to continue. Raises a ``UserError`` (and writes nothing) for bad input, an output
    directory that cannot be written, or one holding another workload's run (unless ``fresh``)."""
    from .nn import checkpoint

    out_dir = Path(out_dir)
    data = preflight(loaded)
    check_writable_dir(out_dir, "--out")
    plan = RunPlan(loaded, out_dir, cache_key(loaded, data.corpus.report.sha256))
    if fresh:
        return plan
    start_over = "Nothing was changed: --fresh starts over in it, or give another --out."
    try:
        report = read_report(out_dir)
    except UnreadableReport as exc:
        raise UserError(f"{exc} {start_over}") from None
    if report is not None and report.get("cache_key") == plan.key:
        plan.finished = report
        return plan
    unusable = None
    if checkpoint.path_in(out_dir).is_file():
        try:
            meta = checkpoint.check(out_dir, loaded.workload, data.digest)
            plan.resume_from = dict(meta.get("summary", {}).get("epochs_done") or {})
        except checkpoint.CheckpointError as exc:
            unusable = exc
    changed = _changed_fields(report, loaded) if report is not None else ""
    if changed and plan.resume_from is None:
        raise UserError(f"{out_dir} holds the finished run of another workload ({changed}). {start_over}")
    if unusable is not None and not unusable.stale:
        raise UserError(f"{out_dir} holds a checkpoint this run cannot continue: {unusable} {start_over}")
    if report is not None:
        plan.replaces = changed or _stale_because(report, loaded, data)
    elif unusable is not None:
        plan.replaces = f"its checkpoint is out of date ({unusable})"
    return plan


def execute(plan: RunPlan, progress: bool = True) -> dict[str, Any]:
    """Do what ``plan`` says: return the finished report, or compute (resuming) and write it."""
    if plan.finished is not None:
        return plan.finished
    report = compute_report(plan.loaded, plan.out_dir, resume=plan.resume_from is not None, progress=progress)
    write_report(report, plan.out_dir)
    return report


def run(loaded: LoadedWorkload, out_dir: str | Path, resume: bool = True, progress: bool = True) -> dict[str, Any]:
    """Train, estimate, write ``out_dir/report.json``, ``report.md`` and plots; return the report.

    With ``resume`` (the default), this run's finished report in ``out_dir`` is returned as it is,
    and an interrupted run continues from its last checkpoint; without, the run starts over. Bad
    input raises a ``UserError`` before anything is written (``plan_run``).
    """
    return execute(plan_run(loaded, out_dir, fresh=not resume), progress)


def read_report(out_dir: Path) -> dict[str, Any] | None:
    """``out_dir/report.json``, None when there is none; ``UnreadableReport`` when it is not a
    complete rpuarch report."""
    path = Path(out_dir) / REPORT_FILE
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise UnreadableReport(f"{path} is not a readable rpuarch report ({type(exc).__name__}).") from None
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA or not isinstance(report.get("cache_key"), str):
        raise UnreadableReport(f"{path} is not an rpuarch report of this version (schema or cache key missing).")
    missing = [key for key in REQUIRED_NUMBERS if lookup(report, key) is None]
    if missing or not isinstance(report.get("workload", {}).get("resolved"), dict):
        raise UnreadableReport(f"{path} is incomplete (no {', '.join(missing) or 'workload'}).")
    return report


def read_finished_report(out_dir: Path, key: str) -> dict[str, Any] | None:
    """The finished report in ``out_dir`` if it is the result with cache key ``key``."""
    report = read_report(out_dir)
    return report if report is not None and report["cache_key"] == key else None


def _changed_fields(report: dict[str, Any], loaded: LoadedWorkload) -> str:
    """The fields (beyond those a resume may change) in which the report's workload differs from
    ``loaded``'s; "" when none."""
    from .nn.checkpoint import changes, resume_fields

    return changes(resume_fields(report["workload"]["resolved"]), resume_fields(loaded.workload), shown=3)


def _stale_because(report: dict[str, Any], loaded: LoadedWorkload, data: CharData) -> str:
    """Why a finished report of the same workload is not this run's result."""
    reasons = []
    if report.get("data", {}).get("text", {}).get("sha256") != data.corpus.report.sha256:
        reasons.append("the dataset's text changed")
    from .nn import NUMERICS_VERSION

    then = report.get("versions", {})
    if then.get("rpuarch") != __version__ or then.get("rpuarch_numerics") != str(NUMERICS_VERSION):
        reasons.append(f"it was computed by rpuarch {then.get('rpuarch')} (numerics version {then.get('rpuarch_numerics')})")
    if report.get("backend") != numerics_backend():
        reasons.append(f"it was computed with the {report.get('backend')} backend")
    if report.get("workload", {}).get("resolved_sha256") != loaded.resolved_sha256:
        reasons.append("training.epochs, training.lr or name changed")
    return "; ".join(reasons) or "its cache key differs"


def preflight(loaded: LoadedWorkload) -> CharData:
    """Every check that needs no training, before anything is written: the dataset exists and is
    large enough for the batching, the network fits the chip, the hardware description is
    physically possible. Cheap (no simulation); raises a ``UserError`` naming file and field.
    Returns the split data."""
    from .arch.components import build_hardware, require_training_reads
    from .arch.network import check_fits, workload_network
    from .nn.corpus import read_corpus
    from .nn.data import check_trainable, split_corpus

    w = loaded.workload
    with attributed(loaded):
        data = split_corpus(read_corpus(w.dataset), w.dataset)
        check_trainable(data, w.training.streams, w.training.seq_length)
        network = workload_network(w, data.vocab.size)
        check_fits(network, w.chip.tiles * w.tile.arrays, "workload", w.tile.arrays)
        require_training_reads(w.tile, "workload")
        build_hardware(w.tile, w.chip, w.io, w.update, "workload")
    return data


def compute_report(loaded: LoadedWorkload, work_dir: str | Path, resume: bool = False, progress: bool = True,
                   twin_dir: str | Path | None = None, expect_key: str | None = None,
                   restart_unusable: bool = False) -> dict[str, Any]:
    """Train (checkpoints in ``work_dir``), estimate with the measured activity, assemble the report.

    ``resume``: continue from the checkpoint in ``work_dir`` when there is one; one that cannot
    be continued raises, or with ``restart_unusable`` is deleted and the run starts over (the
    report's ``run.restarted`` says why). ``expect_key``: the cache key the caller files the
    result under (a sweep's client): refused when this machine reads other text or runs another
    backend. ``twin_dir``: a twin cache (rpuarch.nn.twin_cache) shared by the points of a sweep or
    study: the floating-point twin is taken from it when an earlier point trained the same twin (then
    the measured-host baseline uses that twin's measured speed), else trained and stored there.
    """
    from .arch.estimate import estimate
    from .nn import checkpoint
    from .nn.train import train
    from .nn.twin_cache import TwinCache

    work_dir = Path(work_dir)
    data = preflight(loaded)
    key = cache_key(loaded, data.corpus.report.sha256)
    if expect_key is not None and key != expect_key:
        raise UserError(
            f"{loaded.path}: this machine computes the point with other text for the dataset (sha256"
            f" {data.corpus.report.sha256[:12]}) or another numerics backend ({numerics_backend()}) than the"
            " machine that sent it: give every machine the same files and RPUARCH_BACKEND."
        )
    restarted = None
    resume = resume and checkpoint.path_in(work_dir).is_file()
    if resume and restart_unusable:
        try:
            checkpoint.check(work_dir, loaded.workload, data.digest)
        except checkpoint.CheckpointError as exc:
            restarted = f"its checkpoint could not be continued ({exc}); computed from the start"
            checkpoint.path_in(work_dir).unlink(missing_ok=True)
            resume = False
    started = time.time()
    with attributed(loaded):
        twins = TwinCache(twin_dir) if twin_dir is not None else None
        trained = train(loaded, out_dir=work_dir, resume=resume, progress=progress, twins=twins)
        twin = trained["timing"]["fp"]
        estimated = estimate(
            loaded.workload,
            activity=trained["activity"],
            vocab_size=trained["network"]["vocab_size"],
            measured_host_chars_per_s=(twin.get("host") or twin)["chars_per_s"],
            measured_host_conditions=twin.get("host"),
            train_chars=trained["data"]["chars"]["train"],
        )
    report = assemble_report(loaded, trained, estimated, started, time.time())
    report["cache_key"] = key
    if restarted:
        report["run"]["restarted"] = restarted
    return report


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
    report["backend"] = numerics_backend()
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
    # The report being replaced goes first, so that report.md and plots beside a report.json are its own.
    (out_dir / REPORT_FILE).unlink(missing_ok=True)
    written = write_run_plots(report, out_dir) if plots else []
    written.append(atomic_write_text(out_dir / REPORT_MD, render_markdown(report, [p.name for p in written])))
    written.append(atomic_write_json(out_dir / REPORT_FILE, report))
    return written


def versions() -> dict[str, str]:
    from .nn import NUMERICS_VERSION

    out = {"rpuarch": __version__, "rpuarch_numerics": str(NUMERICS_VERSION), "python": platform.python_version(),
           "platform": platform.platform()}
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


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="seconds")


@contextmanager
def attributed(loaded: LoadedWorkload) -> Iterator[None]:
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
