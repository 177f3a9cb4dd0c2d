"""The floating-point twin, trained once and reused by every point that would train it again.

Across the points of a sweep over device, io or update fields the twin is the same network
trained on the same data in the same order: it runs on ideal tiles with a perfect periphery and an
exact update, so it never sees ``device`` (but for the init bounds), ``io`` or ``update``. A point
whose twin was already trained takes its numbers from ``<cache>/fp/<key>.json`` instead of
training it, and says so (``accuracy.fp.reused_from``, ``timing.fp.reused_from``).

The key is the sha256 of exactly what the twin's numbers depend on (``twin_fields``):
- ``dataset`` (every field) and the sha256 of the vocabulary and split ids (a corpus file edited in
  place gives another key);
- ``network``, ``training`` (every field: also ``update_mode``, which the ideal tiles ignore) and
  ``seed`` (initial weights, the twin's tile streams, dropout masks);
- ``tile.rows`` and ``tile.cols``: the split of the arrays into tiles sets the order of the
  digital partial sums;
- ``device.w_min`` and ``device.w_max``: the initial weights' range is clipped to them
  (``model.init_scale``), for both networks;
- the format of this file and the rpuarch version.
Not in the key (the twin never reads them): the rest of ``device``, ``io``, ``update``, the rest
of ``tile``, ``chip``, ``bus``, ``baselines``, ``activity``, ``name``, ``sources``; nor the numerics
backend (``RPUARCH_BACKEND`` selects the RPU tiles' kernels; the twin's ideal tiles compute in
numpy either way).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Workload
from ..files import atomic_write_json

SCHEMA = "rpuarch.fp-twin/1"
DIRNAME = "fp"


def twin_fields(workload: Workload, data_digest: str) -> dict[str, Any]:
    """Everything the twin's curves and losses depend on (see the module docstring)."""
    return {
        "schema": SCHEMA,
        "rpuarch": __version__,
        "dataset": workload.dataset.model_dump(mode="json"),
        "data_sha256": data_digest,
        "network": workload.network.model_dump(mode="json"),
        "training": workload.training.model_dump(mode="json"),
        "seed": workload.seed,
        "tile": {"rows": workload.tile.rows, "cols": workload.tile.cols},
        "init_bounds": {"w_min": workload.device.w_min, "w_max": workload.device.w_max},
    }


def twin_key(workload: Workload, data_digest: str) -> str:
    return hashlib.sha256(json.dumps(twin_fields(workload, data_digest), sort_keys=True).encode()).hexdigest()


class TwinCache:
    """Trained twins by key, one JSON file each: ``<root>/<key>.json`` (written atomically)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def beside(cls, point_cache: str | Path) -> TwinCache:
        """The twin cache of a sweep or study cache: ``<cache>/fp``."""
        return cls(Path(point_cache) / DIRNAME)

    def path_for(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """``{"accuracy": ..., "timing": ...}`` of the twin with ``key``; None when there is none
        (or the file is not one of ours: then the twin is trained again and the file replaced)."""
        try:
            stored = json.loads(self.path_for(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("schema") != SCHEMA or stored.get("key") != key:
            return None
        return stored

    def put(self, key: str, fields: dict[str, Any], accuracy: dict[str, Any], timing: dict[str, Any]) -> Path:
        return atomic_write_json(self.path_for(key), {
            "schema": SCHEMA, "key": key, "fields": fields, "accuracy": accuracy, "timing": timing,
        })
