"""Checkpoints of a training run: everything needed to continue it bit for bit, as data only.

A checkpoint is ``DIR/checkpoint.npz``, written atomically: numpy arrays (loaded with
``allow_pickle=False``) and one JSON document (``__meta__``, bytes of UTF-8). Nothing in it names a
class or runs code: resuming rebuilds the run's objects from the workload (``train.build_networks``)
and ``restore`` walks them, writing the saved arrays, numbers, strings and random-generator states
into the attributes of the same names. So a new attribute of any object of the run (a tile, a layer,
the model, the run state) is checkpointed without touching this module, as long as it is one of:

- ``None``, bool, int, float, str, a numpy scalar or array (not of dtype object);
- a ``numpy.random.Generator`` (its bit generator's state);
- a list, tuple or dict (string keys) of these, or an object whose attributes are these (those
  of its ``__getstate__``, as pickle would see them: a class keeps scratch buffers out that way).

Attributes that are configuration (pydantic models, rebuilt from the workload) or callables (bound
methods) are not saved. An attribute that is ``None`` in the rebuilt run but was an object when
saved (``NetworkRun.state``) is rebuilt from its dataclass type hint. Anything else raises
``TypeError`` when saving, naming the attribute, so a test run shows it at once.

A checkpoint is only resumed by the same workload on the same text, by the same rpuarch and numerics
versions on the same numerics backend (``resume_fields``, ``header``); ``training.epochs`` (to train longer),
``training.lr`` (to recover from divergence) and ``name`` may change. A file that is not such a
checkpoint (truncated, foreign, hostile) raises ``CheckpointError`` and changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import typing
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from .. import __version__
from ..config import Workload
from ..device.tile import default_backend
from ..errors import UserError
from ..files import atomic_write_bytes
from . import NUMERICS_VERSION

FILENAME = "checkpoint.npz"
FORMAT = 2
META = "__meta__"
MAY_CHANGE_ON_RESUME = ("name", "training.epochs", "training.lr")


class CheckpointError(UserError):
    """The checkpoint cannot be resumed here: unreadable, or of another workload, text, version or
    backend. The message says why; the command adds how to start over. ``stale``: it is of this
    workload, but of other text, another rpuarch version or backend (a run starting over is
    expected to replace it)."""

    def __init__(self, message: str, stale: bool = False):
        super().__init__(message)
        self.stale = stale


def path_in(directory: str | Path) -> Path:
    return Path(directory) / FILENAME


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def resume_fields(workload: Workload | dict[str, Any]) -> dict[str, Any]:
    """The workload fields (of a ``Workload`` or its JSON dump) a resumed run must share with the
    checkpoint, flattened by path."""
    fields = _flatten(workload if isinstance(workload, dict) else workload.model_dump(mode="json"))
    return {k: v for k, v in fields.items() if k not in MAY_CHANGE_ON_RESUME}


def changes(then: dict[str, Any], now: dict[str, Any], shown: int = 5) -> str:
    """The fields in which two ``resume_fields`` differ, as ``path (then -> now)``; "" if none."""
    changed = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    listed = ", ".join(f"{k} ({then.get(k)!r} -> {now.get(k)!r})" for k in changed[:shown])
    return listed + (f" and {len(changed) - shown} more" if len(changed) > shown else "")


def resume_key(workload: Workload) -> str:
    return hashlib.sha256(json.dumps(resume_fields(workload), sort_keys=True).encode()).hexdigest()


def header(workload: Workload, data_digest: str) -> dict[str, Any]:
    """What a checkpoint must match to be resumed (and says of itself)."""
    return {
        "format": FORMAT,
        "rpuarch": __version__,
        "numerics": NUMERICS_VERSION,
        "backend": default_backend(),
        "resume_key": resume_key(workload),
        "resume_fields": resume_fields(workload),
        "data_digest": data_digest,
    }


# ---------------------------------------------------------------------------- saving
def save(directory: str | Path, workload: Workload, data_digest: str, state: Any, summary: dict[str, Any] | None = None) -> Path:
    """Write ``state`` (the run's root object) to ``directory/checkpoint.npz``, atomically;
    ``summary`` (JSON data, e.g. how far training got) is kept beside it for messages."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, "state", arrays, {})
    meta = {**header(workload, data_digest), "summary": summary or {}, "state": tree}
    buffer = io.BytesIO()
    np.savez(buffer, **{META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}, **arrays)
    return atomic_write_bytes(path_in(directory), buffer.getvalue())


def _skipped(value: Any) -> bool:
    """Configuration (rebuilt from the workload) and callables (bound methods) are not state."""
    return isinstance(value, BaseModel) or callable(value)


def _encode(value: Any, path: str, arrays: dict[str, np.ndarray], seen: dict[int, str]) -> Any:
    """``value`` as JSON data; arrays go into ``arrays`` under their path. Every composite node
    is a one-key dict naming its kind; an object met again is a ``ref`` to its first path."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return value.item()
    if isinstance(value, (np.ndarray, np.random.Generator)) or _is_object(value):
        if id(value) in seen:
            return {"ref": seen[id(value)]}
        seen[id(value)] = path
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"checkpoint: {path} is an array of Python objects, which a checkpoint cannot hold")
        arrays[path] = value
        return {"array": path}
    if isinstance(value, np.random.Generator):
        return {"generator": value.bit_generator.state}
    if isinstance(value, (list, tuple)):
        return {"list": [_encode(item, f"{path}[{i}]", arrays, seen) for i, item in enumerate(value)]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"checkpoint: {path} is a dict with keys that are not strings")
        return {"dict": {key: _encode(item, f"{path}.{key}", arrays, seen) for key, item in value.items()}}
    if _is_object(value):
        return {"object": {name: _encode(item, f"{path}.{name}", arrays, seen) for name, item in _state(value).items()}}
    raise TypeError(f"checkpoint: {path} is a {type(value).__name__}, which a checkpoint cannot hold"
                    " (rpuarch.nn.checkpoint lists what it can)")


def _state(value: Any) -> dict[str, Any]:
    """The attributes of an object that are its state: ``__getstate__``, as pickle sees them (a
    class keeps scratch buffers out that way), without configuration and callables."""
    state = value.__getstate__() or {}
    if not isinstance(state, dict):
        raise TypeError(f"checkpoint: the state of a {type(value).__name__} is not a dict of attributes")
    return {name: item for name, item in state.items() if not _skipped(item)}


def _is_object(value: Any) -> bool:
    return hasattr(value, "__dict__") and not isinstance(value, type) and not _skipped(value)


# ---------------------------------------------------------------------------- loading
def read(directory: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON document and the arrays of ``directory/checkpoint.npz``; ``CheckpointError`` if it is
    not a checkpoint this module wrote (nothing in the file is executed either way)."""
    path = path_in(directory)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist: nothing to resume.")
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            # np.savez stores members uncompressed: refuse anything that would expand in memory.
            members = archive.infolist()
            if any(m.compress_type != zipfile.ZIP_STORED for m in members) or sum(m.file_size for m in members) > size:
                raise ValueError("compressed or oversized members")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError, EOFError, RecursionError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not a readable rpuarch checkpoint ({type(exc).__name__}: {exc}).") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise CheckpointError(f"{path} is not a readable rpuarch checkpoint (no run state in it).")
    return meta, arrays


def check(directory: str | Path, workload: Workload, data_digest: str) -> dict[str, Any]:
    """The checkpoint's JSON document, after checking that this workload, text, rpuarch version and
    numerics backend may resume it (``CheckpointError`` saying what differs otherwise)."""
    path = path_in(directory)
    meta, _ = read(directory)
    expected = header(workload, data_digest)
    for field, what in (("format", "checkpoint format"), ("rpuarch", "rpuarch version"), ("numerics", "numerics version"),
                        ("backend", "numerics backend")):
        if meta.get(field) != expected[field]:
            raise CheckpointError(
                f"{path} was written with {what} {meta.get(field)!r}, this is {expected[field]!r}: its numbers"
                " would not continue those of the run that wrote it.", stale=True,
            )
    if meta.get("resume_key") != expected["resume_key"]:
        then = meta.get("resume_fields")
        raise CheckpointError(
            f"the workload differs from the one that wrote {path}:"
            f" {changes(then if isinstance(then, dict) else {}, expected['resume_fields'])}."
            f" Only {', '.join(MAY_CHANGE_ON_RESUME)} may change on a resume."
        )
    if meta.get("data_digest") != data_digest:
        raise CheckpointError(f"the training text differs from the one {path} was trained on (the corpus changed).", stale=True)
    return meta


def load(directory: str | Path, workload: Workload, data_digest: str, state: Any) -> Any:
    """Restore the checkpoint into ``state``, the run rebuilt from the same workload; return it."""
    meta = check(directory, workload, data_digest)
    _, arrays = read(directory)
    try:
        _Restorer(arrays).into(state, meta["state"], "state", type(state))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise CheckpointError(f"{path_in(directory)} does not fit the run this workload builds ({exc}).") from None
    return state


class _Restorer:
    """Writes a saved tree into rebuilt objects (see the module docstring)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.at: dict[str, Any] = {}  # path -> the rebuilt object restored there (for refs)

    def into(self, current: Any, node: Any, path: str, hint: Any = None) -> Any:
        """The value for a slot holding ``current`` that was saved as ``node``: ``current`` itself,
        updated in place, whenever it can be."""
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"{path}: not a saved value")
        kind, body = next(iter(node.items()))
        if kind == "ref":
            if body not in self.at or (current is not None and current is not self.at[body]):
                raise ValueError(f"{path}: shared with {body} when saved, not in this run")
            return self.at[body]
        value = getattr(self, f"_{kind}")(current, body, path, hint)
        if kind in ("array", "generator", "object"):
            self.at[path] = value
        return value

    def _array(self, current: Any, name: Any, path: str, hint: Any) -> np.ndarray:
        saved = self.arrays[name]
        if isinstance(current, np.ndarray) and current.shape == saved.shape and current.dtype == saved.dtype and current.flags.writeable:
            current[...] = saved
            return current
        return saved.copy()

    def _generator(self, current: Any, state: Any, path: str, hint: Any) -> np.random.Generator:
        if not isinstance(current, np.random.Generator):
            raise ValueError(f"{path}: a random generator when saved, not in this run")
        current.bit_generator.state = state
        return current

    def _list(self, current: Any, items: Any, path: str, hint: Any) -> Any:
        if not isinstance(items, list):
            raise ValueError(f"{path}: not a saved list")
        element = _element_hint(hint)
        same_length = isinstance(current, (list, tuple)) and len(current) == len(items)
        olds = list(current) if same_length else [None] * len(items)
        news = [self.into(old, item, f"{path}[{i}]", element) for i, (old, item) in enumerate(zip(olds, items))]
        if same_length and all(_unchanged(new, old) for new, old in zip(news, olds)):
            return current
        if isinstance(current, list) and same_length:
            current[:] = news
            return current
        return tuple(news) if isinstance(current, tuple) else news

    def _dict(self, current: Any, items: Any, path: str, hint: Any) -> dict:
        if not isinstance(items, dict):
            raise ValueError(f"{path}: not a saved dict")
        target = current if isinstance(current, dict) else {}
        value_hint = _element_hint(hint, position=1)
        for key in [k for k in target if k not in items]:
            del target[key]
        for key, item in items.items():
            target[key] = self.into(target.get(key), item, f"{path}.{key}", value_hint)
        return target

    def _object(self, current: Any, attributes: Any, path: str, hint: Any) -> Any:
        if not isinstance(attributes, dict):
            raise ValueError(f"{path}: not a saved object")
        if current is None:
            return self._build(attributes, path, hint)
        if not _is_object(current):
            raise ValueError(f"{path}: an object when saved, a {type(current).__name__} in this run")
        own = set(_state(current))
        if own != set(attributes):
            raise ValueError(f"{path}: the attributes of {type(current).__name__} differ ({sorted(own ^ set(attributes))})")
        hints = _hints(type(current))
        self.at[path] = current
        for name, item in attributes.items():
            old = getattr(current, name)
            new = self.into(old, item, f"{path}.{name}", hints.get(name))
            if not _unchanged(new, old):
                object.__setattr__(current, name, new)  # frozen dataclasses too: this is their own state
        return current

    def _build(self, attributes: dict[str, Any], path: str, hint: Any) -> Any:
        """An object that the rebuilt run does not have yet, made by its dataclass type hint."""
        classes = [c for c in (typing.get_args(hint) or (hint,)) if dataclasses.is_dataclass(c) and isinstance(c, type)]
        if len(classes) != 1:
            raise ValueError(f"{path}: saved as an object, and its type is not known here")
        cls = classes[0]
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        if names != set(attributes):
            raise ValueError(f"{path}: the fields of {cls.__name__} differ")
        hints = _hints(cls)
        return cls(**{name: self.into(None, item, f"{path}.{name}", hints.get(name)) for name, item in attributes.items()})


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {}


def _element_hint(hint: Any, position: int = 0) -> Any:
    """The element type of ``list[X]`` / ``tuple[X, ...]`` (position 0) or the value type of
    ``dict[K, V]`` (position 1), through ``Optional``."""
    for candidate in typing.get_args(hint) or (hint,):
        args = typing.get_args(candidate)
        if typing.get_origin(candidate) in (list, tuple, dict) and len(args) > position:
            return args[position]
    return None


def _unchanged(new: Any, old: Any) -> bool:
    if new is old:
        return True
    plain = (type(None), bool, int, float, str)
    return type(new) is type(old) and isinstance(new, plain) and new == old
