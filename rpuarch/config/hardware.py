"""The chip: tiles of RPU arrays with their converters and digital periphery, and the baselines.

Converter resolutions are not here: the DAC and ADC bits are those of the workload's ``io``
section, so training and the cost model always see the same converters.
"""

from __future__ import annotations

from typing import Literal

from .base import Section, field


class TileConfig(Section):
    """One physical RPU array with its periphery."""

    preset: str | None = field(None, "Preset under models/tiles/ this tile started from.")
    rows: int = field(4096, "Array rows (outputs of the forward pass).", "device", ge=1, le=65536)
    cols: int = field(4096, "Array columns (inputs of the forward pass).", "device", ge=1, le=65536)
    t_int_ns: float = field(80.0, "Integration time of one analog matrix-vector product.", "ns", gt=0)
    t_pulse_ns: float = field(1.0, "Duration of one update pulse.", "ns", gt=0)


class ChipConfig(Section):
    """How many tiles, and what connects them."""

    preset: str | None = field(None, "Preset under models/chips/ this chip started from.")
    tiles: int = field(100, "Number of physical tiles on the chip.", "tile", ge=1)


class BaselineConfig(Section):
    """A digital processor the RPU chip is compared with."""

    preset: str | None = field(None, "Preset under models/baselines/ this baseline came from.")
    name: str = field(..., "Display name.")
    kind: Literal["cpu", "gpu", "measured-host"] = field("cpu", "What sort of processor.")
