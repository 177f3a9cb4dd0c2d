"""Activity counters of an array: what the training run measured, what the cost model charges.

Orientation: a tile holds W of shape (out, in). The forward pass drives the ``in`` lines with x
through DACs and reads the ``out`` lines through ADCs; the backward pass the other way round. The
update sends pulse trains of x on the ``in`` lines and of d on the ``out`` lines; a device steps at
each coincidence.

A tile of a transfer algorithm (transfer.py) counts the updates of its fast array A in the update
counters, and its transfers separately: a transfer reads columns of A through the periphery (one
one-hot vector each) and pulses the slow array C with them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pulses import UpdateStats


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
    transfers: int = 0  # transfer events (tiki-taka, ttv2, c-ttv2)
    transfer_reads: int = 0  # columns of A read by transfers (one-hot vectors through the periphery)
    transfer_outputs: int = 0  # ADC samples of those reads
    transfer_updates: int = 0  # rank-1 updates of C by transfers (one per column read)
    transfer_bl: int = 0  # sum of their pulse-train lengths
    transfer_x_pulses: int = 0  # pulses on C's input lines (the column's one-hot line)
    transfer_d_pulses: int = 0  # pulses on C's output lines
    transfer_coincidences: int = 0  # device steps of C

    def count_forward(self, vectors: int, repeats: int, saturated: int, out_size: int) -> None:
        """Add an analog forward pass of ``vectors`` inputs with bound management's ``repeats``."""
        self.forward_vectors += vectors
        self.forward_repeats += repeats
        self.forward_outputs += (vectors + repeats) * out_size
        self.forward_saturated += saturated

    def count_update(self, stats: UpdateStats) -> None:
        """Add a pulsed update's counts."""
        self.updates += stats.updates
        self.update_bl += stats.bl
        self.x_pulses += stats.x_pulses
        self.d_pulses += stats.d_pulses
        self.coincidences += stats.coincidences

    def add(self, other: TileActivity) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> TileActivity:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})
