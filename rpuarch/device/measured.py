"""Measured potentiation/depression data: the CSV that ``rpuarch device fit`` reads.

One row per reading, a header row naming the columns (any order, case-insensitive; other columns
are ignored; lines starting with ``#`` are comments):

- ``device`` (optional): the device the reading belongs to (any text; one device if absent);
- ``pulse``: the number of pulses the device had received when it was read, an integer counting
  up by one from the device's first row, which is the reading before its first pulse;
- ``direction``: the pulse that led to this reading, ``up`` or ``down`` (also ``+1`` / ``-1``,
  ``potentiation`` / ``depression``, ``set`` / ``reset``); empty on the device's first row;
- ``weight`` or ``conductance`` (exactly one of them): the reading.

Conductance is mapped linearly to weight, w = (2 G - G_max - G_min) / (G_max - G_min), with G_min
and G_max the lowest and highest conductance in the file (or given): the measured range becomes
[-1, 1]. A weight is taken as it is, and must take both signs (a device preset has w_min < 0 <
w_max). Consecutive pulses of one direction form a train; each device needs at least
MIN_PULSES pulses of each direction.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError

MIN_PULSES = 20  # of each direction per device
DIRECTIONS = {"up": True, "+1": True, "+": True, "potentiation": True, "set": True,
              "down": False, "-1": False, "-": False, "depression": False, "reset": False}
COLUMNS = "device (optional), pulse, direction, and weight or conductance"


@dataclass
class DeviceTrace:
    """The readings of one device: weight[k] after k pulses, up[k] the direction of pulse k + 1."""

    name: str
    weight: np.ndarray  # (P + 1,) float64, [0] before the first pulse
    up: np.ndarray  # (P,) bool

    @property
    def train_starts(self) -> np.ndarray:
        """(P,) bool: pulse k starts a train (the first pulse, or the direction changed)."""
        starts = np.ones(self.up.size, dtype=bool)
        starts[1:] = self.up[1:] != self.up[:-1]
        return starts


@dataclass
class Measurements:
    path: str
    devices: list[DeviceTrace]
    quantity: str  # "weight" or "conductance"
    conversion: str  # how the readings became weights
    sha256: str

    @property
    def pulses(self) -> int:
        return sum(d.up.size for d in self.devices)


def read_measurements(path: str | Path, g_range: tuple[float, float] | None = None) -> Measurements:
    """Read and check a measurement CSV; every problem is a ConfigError naming the file, the row
    (its line in the file) and the column, and what is allowed."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(source, None, f"cannot read the file ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(source, None, "not UTF-8 text.", "a CSV file of " + COLUMNS) from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ConfigError(source, None, "no header row and no data.", "a header row naming the columns " + COLUMNS)
    header_line, header = lines[0][0], next(csv.reader([lines[0][1]]))
    columns = {name.strip().lower(): i for i, name in enumerate(header)}
    readings = [c for c in ("weight", "conductance") if c in columns]
    missing = [c for c in ("pulse", "direction") if c not in columns] + ([] if readings else ["weight or conductance"])
    if len(readings) == 2 or missing:
        problem = ("both weight and conductance given." if len(readings) == 2 else
                   f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
                   f" (the header has {', '.join(h.strip() for h in header) or 'nothing'}).")
        raise ConfigError(source, f"line {header_line} (header)", problem, "the columns " + COLUMNS)
    quantity = readings[0]

    names: list[str] = []
    by_device: dict[str, list[tuple[int, int, bool | None, float]]] = {}
    for number, line in lines[1:]:
        cells = next(csv.reader([line]))
        if len(cells) < len(header):
            raise ConfigError(source, f"line {number}", f"{len(cells)} fields, the header has {len(header)}.",
                              "one value per column on every row")
        device = cells[columns["device"]].strip() if "device" in columns else "device"
        pulse = _integer(cells[columns["pulse"]], source, number)
        direction = cells[columns["direction"]].strip().lower()
        if direction and direction not in DIRECTIONS:
            raise ConfigError(source, f"line {number}, column direction", f"{direction!r} is not a direction.",
                              "up or down (also +1/-1, potentiation/depression, set/reset); empty on a device's first row")
        value = _number(cells[columns[quantity]], source, number, quantity)
        if device not in by_device:
            names.append(device)
            by_device[device] = []
        by_device[device].append((number, pulse, DIRECTIONS.get(direction), value))

    traces = [_device_trace(name, by_device[name], source) for name in names]
    if not traces:
        raise ConfigError(source, None, "no data rows after the header.", "one row per reading: " + COLUMNS)
    conversion = "weight as given"
    if quantity == "conductance":
        conversion = _to_weight(traces, g_range, source)
    elif not (min(t.weight.min() for t in traces) < 0 < max(t.weight.max() for t in traces)):
        raise ConfigError(source, "column weight", "the weights do not take both signs.",
                          "weights around 0 (a device preset has w_min < 0 < w_max), or a conductance column"
                          " (mapped to [-1, 1])")
    return Measurements(source, traces, quantity, conversion, hashlib.sha256(raw).hexdigest())


def _integer(cell: str, source: str, line: int) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise ConfigError(source, f"line {line}, column pulse", f"{cell.strip()!r} is not an integer.",
                          "the number of pulses the device had received, counting up by one") from None


def _number(cell: str, source: str, line: int, column: str) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        raise ConfigError(source, f"line {line}, column {column}", f"{cell.strip()!r} is not a number.", "a finite number") from None
    if not np.isfinite(value):
        raise ConfigError(source, f"line {line}, column {column}", f"{cell.strip()!r} is not finite.", "a finite number")
    return value


def _device_trace(name: str, rows: list[tuple[int, int, bool | None, float]], source: str) -> DeviceTrace:
    for (_, previous, _, _), (line, pulse, _, _) in zip(rows, rows[1:]):
        if pulse != previous + 1:
            raise ConfigError(source, f"line {line}, column pulse",
                              f"pulse {pulse} follows pulse {previous} of device {name!r}.",
                              "pulse numbers counting up by one from each device's first row")
    for line, _, direction, _ in rows[1:]:
        if direction is None:
            raise ConfigError(source, f"line {line}, column direction", f"no direction for a pulse of device {name!r}.",
                              "up or down on every row but a device's first")
    up = np.array([r[2] for r in rows[1:]], dtype=bool)
    n_up, n_down = int(up.sum()), int((~up).sum())
    if n_up < MIN_PULSES or n_down < MIN_PULSES:
        what = "no down sequence" if n_down == 0 else "no up sequence" if n_up == 0 else "too few pulses"
        raise ConfigError(source, f"device {name!r} (lines {rows[0][0]}-{rows[-1][0]})",
                          f"{what}: {n_up} up and {n_down} down pulses.",
                          f"at least {MIN_PULSES} up and {MIN_PULSES} down pulses per device")
    return DeviceTrace(name, np.array([r[3] for r in rows]), up)


def _to_weight(traces: list[DeviceTrace], g_range: tuple[float, float] | None, source: str) -> str:
    low, high = g_range if g_range else (min(t.weight.min() for t in traces), max(t.weight.max() for t in traces))
    if not high > low:
        raise ConfigError(source, "column conductance", f"no range to map to weights (G_min {low:g}, G_max {high:g}).",
                          "conductances that change with the pulses, or --g-range GMIN GMAX with GMIN < GMAX")
    for t in traces:
        t.weight = (2 * t.weight - high - low) / (high - low)
    origin = "given" if g_range else "the file's lowest and highest"
    return f"weight = (2 G - G_max - G_min) / (G_max - G_min), G_min = {low:.6g}, G_max = {high:.6g} ({origin})"


def to_csv(traces: list[DeviceTrace], comment: str = "") -> str:
    """The traces in the format ``read_measurements`` reads (weights), with ``comment`` lines first."""
    out = io.StringIO()
    for line in comment.splitlines():
        out.write(f"# {line}\n".replace("# \n", "#\n"))
    out.write("device,pulse,direction,weight\n")
    for t in traces:
        directions = [""] + ["up" if u else "down" for u in t.up]
        for k, (direction, w) in enumerate(zip(directions, t.weight)):
            out.write(f"{t.name},{k},{direction},{w:.7g}\n")
    return out.getvalue()
