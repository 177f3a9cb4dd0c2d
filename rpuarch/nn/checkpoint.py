"""Checkpoints of a training run: everything needed to continue it bit for bit.

A checkpoint is a pickle of the run state (both networks with their tiles, every random generator
of data, dropout, devices and noise, the carried hidden state, the curves and the counters), written
atomically to ``DIR/checkpoint.pkl``. It is only resumed by the same workload on the same data;
``training.epochs`` (to train longer), ``training.lr`` (to recover from divergence) and ``name`` may
change. Pickles run code when loaded: resume only checkpoints you wrote.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

from ..config import Workload
from ..errors import UserError
from ..files import atomic_write_bytes

FILENAME = "checkpoint.pkl"
FORMAT = 1
MAY_CHANGE_ON_RESUME = ("name", "training.epochs", "training.lr")


def path_in(directory: str | Path) -> Path:
    return Path(directory) / FILENAME


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def resume_fields(workload: Workload) -> dict[str, Any]:
    """The workload fields a resumed run must share with the checkpoint, flattened by path."""
    fields = _flatten(workload.model_dump(mode="json"))
    return {k: v for k, v in fields.items() if k not in MAY_CHANGE_ON_RESUME}


def resume_key(workload: Workload) -> str:
    return hashlib.sha256(json.dumps(resume_fields(workload), sort_keys=True).encode()).hexdigest()


def save(directory: str | Path, workload: Workload, data_digest: str, state: Any) -> Path:
    payload = {
        "format": FORMAT,
        "resume_key": resume_key(workload),
        "resume_fields": resume_fields(workload),
        "data_digest": data_digest,
        "state": state,
    }
    return atomic_write_bytes(path_in(directory), pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def load(directory: str | Path, workload: Workload, data_digest: str) -> Any:
    """The saved run state, after checking that ``workload`` and the data may resume it."""
    path = path_in(directory)
    if not path.is_file():
        raise UserError(f"--resume: {path} does not exist; nothing to resume (train without --resume).")
    try:
        payload = pickle.loads(path.read_bytes())
    except Exception as exc:  # a truncated or foreign file
        raise UserError(f"--resume: {path} is not a readable rpuarch checkpoint ({type(exc).__name__}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"--resume: {path} was written by another version of rpuarch (format {payload.get('format') if isinstance(payload, dict) else '?'}, this is {FORMAT}).")
    if payload["resume_key"] != resume_key(workload):
        now = resume_fields(workload)
        then = payload["resume_fields"]
        changed = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
        shown = ", ".join(f"{k} ({then.get(k)!r} -> {now.get(k)!r})" for k in changed[:5])
        raise UserError(
            f"--resume: the workload differs from the one that wrote {path}: {shown}"
            f"{' and more' if len(changed) > 5 else ''}. Only {', '.join(MAY_CHANGE_ON_RESUME)} may change."
        )
    if payload["data_digest"] != data_digest:
        raise UserError(
            f"--resume: the training text differs from the one {path} was trained on (the corpus files"
            " changed); start a fresh run."
        )
    return payload["state"]
