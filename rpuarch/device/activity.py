"""Activity counters of an array: what the training run measured, what the cost model charges.

Orientation: a tile holds W of shape (out, in). The forward pass drives the ``in`` lines with x
through DACs and reads the ``out`` lines through ADCs; the backward pass the other way round. The
update sends pulse trains of x on the ``in`` lines and of d on the ``out`` lines; a device steps at
each coincidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TileActivity:
    forward_vectors: int = 0  # input vectors through the analog forward pass
    forward_repeats: int = 0  # extra analog passes caused by bound management
    forward_outputs: int = 0  # ADC samples read in the forward pass (repeats included)
    forward_saturated: int = 0  # outputs still clipped at out_bound after bound management
    backward_vectors: int = 0
    backward_outputs: int = 0
    backward_saturated: int = 0
    updates: int = 0  # rank-1 updates (one x, d pair)
    update_bl: int = 0  # sum over updates of the pulse-train length used (after BL management)
    x_pulses: int = 0  # pulses sent on the input lines
    d_pulses: int = 0  # pulses sent on the output lines
    coincidences: int = 0  # device steps (pulse coincidences)

    def add(self, other: TileActivity) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> TileActivity:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})
