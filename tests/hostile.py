"""Planted files for the safety tests: checkpoints that would run code if anything unpickled them,
and other files that are not checkpoints."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np


class Plant:
    """Unpickling this creates the file ``marker``: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def npz(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def hostile_files(marker: Path) -> dict[str, bytes]:
    meta = np.frombuffer(json.dumps({"state": {"object": {}}}).encode(), np.uint8)
    deep = np.frombuffer(("[" * 100_000 + "]" * 100_000).encode(), np.uint8)
    return {
        "object array": npz({"__meta__.npy": npy(np.array([Plant(marker)], dtype=object))}),
        "object array beside good meta": npz({"__meta__.npy": npy(meta), "x.npy": npy(np.array([Plant(marker)], dtype=object))}),
        "a plain pickle": pickle.dumps(Plant(marker)),
        "compressed": npz({"__meta__.npy": npy(meta)}, zipfile.ZIP_DEFLATED),
        "deeply nested JSON": npz({"__meta__.npy": npy(deep)}),
        "not JSON": npz({"__meta__.npy": npy(np.frombuffer(b"\xff\xfe{", np.uint8))}),
        "empty": b"",
    }


