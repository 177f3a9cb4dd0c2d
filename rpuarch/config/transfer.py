"""Training algorithms that pulse a fast array A and transfer it into the weight array C.

Names follow aihwkit's compounds (``TransferCompound`` for Tiki-Taka, ``BufferedTransferCompound``
for TTv2, ``ChoppedTransferCompound`` for chopped TTv2). The device section chooses the algorithm
(``device.algorithm``); its parameters are ``device.transfer``. docs/device.md gives the equations.
"""

from __future__ import annotations

from typing import Literal

from .base import Section, field
from .io import IOConfig
from .update import UpdateConfig

Algorithm = Literal["sgd", "tiki-taka", "ttv2", "c-ttv2"]
ALGORITHM_HELP = (
    "sgd: the pulsed update goes to the weight array itself (the 2018 paper); tiki-taka: a fast"
    " array A takes the updates and its columns are read and added into the weight array C now"
    " and then, W = gamma A + C (Gokmen & Haensch 2020, aihwkit's TransferCompound); ttv2: the"
    " reads go into a digital buffer H first and C is pulsed where |H| passes a threshold (Gokmen"
    " 2021, BufferedTransferCompound); c-ttv2: ttv2 with random sign choppers on A's updates and"
    " reads (Rasch et al. 2024, ChoppedTransferCompound)."
)
BUFFERED = ("ttv2", "c-ttv2")


class TransferConfig(Section):
    """Parameters of tiki-taka, ttv2 and c-ttv2 (ignored by sgd). A and C are arrays of the same
    device (``device``), each with its own devices drawn."""

    gamma: float = field(
        0.0, "Weight of the fast array in the weight the network reads, W = gamma * A + C (0: A is hidden).",
        ge=0, le=1,
    )
    transfer_every: float = field(
        1.0,
        "A transfer after every transfer_every rank-1 updates, or mini-batches with units_in_mbatch"
        " (rounded to whole rank-1 updates, at least one).",
        "update or mini-batch", gt=0, le=1_000_000,
    )
    units_in_mbatch: bool | None = field(
        None,
        "true: transfer_every counts mini-batches of training.streams rank-1 updates (one time step of"
        " every stream: aihwkit's LSTM updates its tiles step by step); false: rank-1 updates; null:"
        " aihwkit's for the algorithm (true for tiki-taka, TransferCompound's default; false for ttv2 and"
        " c-ttv2, as aihwkit's TTv2 and c-TTv2 presets).",
    )
    n_reads_per_transfer: int = field(
        1, "Columns of A read (and written into C) per transfer, in turn, wrapping around.", "column", ge=1, le=4096,
    )
    transfer_lr: float = field(
        1.0, "Learning rate of the transfer: C += transfer_lr * (read column of A); ttv2: into the buffer.", gt=0, le=1000,
    )
    scale_transfer_lr: bool = field(True, "Multiply transfer_lr by training.lr (aihwkit's default).")
    fast_lr: float = field(1.0, "Learning rate of the SGD updates of A.", gt=0, le=1000)
    scale_fast_lr: bool = field(
        True,
        "Multiply fast_lr by training.lr (aihwkit's current default); false: fast_lr is absolute,"
        " as aihwkit 1.0 and 1.1 take it.",
    )
    transfer_forward: IOConfig | None = field(
        None,
        "Periphery of the transfer reads of A (a one-hot input per column); null: io.forward. Noise and"
        " bound management are always off for these reads (aihwkit turns them off).",
    )
    transfer_update: UpdateConfig | None = field(
        None,
        "Pulsed update of C at a transfer; null: the workload's update section for tiki-taka,"
        " desired_bl 1 without update or BL management for ttv2 and c-ttv2 (one pulse per step, aihwkit's).",
    )
    thres_scale: float = field(
        1.0,
        "ttv2, c-ttv2: the buffer pulses C once |H| reaches thres_scale * dw_min (aihwkit's thres_scale;"
        " c-ttv2's buffer_granularity).",
        gt=0, le=1_000_000,
    )
    auto_granularity: float = field(
        0.0,
        "ttv2, c-ttv2: when > 0, the threshold is also times auto_granularity / (columns x transfer_every),"
        " the updates it takes to read every column once (aihwkit's; its TTv2 and c-TTv2 presets use 1000).",
        ge=0, le=1_000_000,
    )
    step: float = field(1.0, "ttv2, c-ttv2: each buffer step pulses C with lr step * dw_min.", gt=0, le=1000)
    momentum: float | None = field(
        None,
        "ttv2, c-ttv2: fraction of the buffer kept after it pulses; null: aihwkit's default (0.1 for"
        " ttv2, 0 for c-ttv2).",
        ge=0, le=1,
    )
    forget_buffer: bool = field(
        True,
        "ttv2, c-ttv2: after pulsing, H = momentum * H; false: H -= (1 - momentum) * (steps pulsed) * threshold.",
    )
    in_chop_prob: float = field(
        0.1, "c-ttv2: probability that a column's sign chopper flips after the column is read.", ge=0, le=1,
    )
    out_chop_prob: float = field(
        0.0, "c-ttv2: probability that a row's sign chopper flips after the last column is read.", ge=0, le=1,
    )

    def combination_problem(self, algorithm: str) -> str | None:
        """Why these parameters cannot run ``algorithm`` (None if they can)."""
        if algorithm == "c-ttv2" and self.gamma != 0:
            return "c-ttv2 needs transfer.gamma = 0: A holds chopped gradients, which W cannot read"
        if algorithm == "c-ttv2" and self.n_reads_per_transfer != 1:
            return "c-ttv2 reads one column per transfer (transfer.n_reads_per_transfer = 1), as aihwkit"
        return None
