"""The Tiki-Taka family on a tile: a fast array A takes the pulsed updates, a slow array C holds the
weight, and columns of A are transferred into C through the periphery now and then.

As aihwkit's ``TransferRPUDevice`` (Tiki-Taka, Gokmen & Haensch 2020), ``BufferedTransferRPUDevice``
(TTv2, Gokmen 2021) and ``ChoppedTransferRPUDevice`` (c-TTv2, Rasch et al. 2024), two arrays:

- the network reads W = gamma A + C through the tile's periphery (forward and backward);
- every rank-1 update (x, d) pulses A with lr_A = fast_lr (times lr with scale_fast_lr);
- after every ``every``-th rank-1 update, a transfer: the next ``n_reads_per_transfer`` columns j
  of A (in turn, wrapping around) are read with one-hot inputs through ``transfer_forward`` (noise
  and bound management off): y_j = A[:, j] with the read's noise and ADC; then
    tiki-taka:  C is pulsed with x = e_j, d = -y_j, lr_T: C[:, j] += lr_T y_j in expectation;
    ttv2:       H[:, j] += lr_T y_j (a digital buffer of floats); n = trunc(H / thres) clipped to
                +-transfer_update.desired_bl, thres = thres_scale dw_min (times auto_granularity /
                (in_size transfer_every) when auto_granularity > 0); C is pulsed with x = e_j,
                d = -n, lr step * dw_min (one pulse per step); where n != 0: H = momentum H
                (forget_buffer) or H -= (1 - momentum) n thres;
    c-ttv2:     ttv2 with A's updates taken with x and d times random signs (one per column and
                one per row: the choppers) and the reads multiplied by the same signs; column j's
                chopper flips with probability in_chop_prob after it is read, every row's with
                out_chop_prob after the last column is read.
  lr_T = transfer_lr (times lr with scale_transfer_lr; ttv2 also times gamma when gamma > 0).

Built from two AnalogTiles and their kernels: A's updates between transfers are one call of the
plain update (exact or aggregated), a transfer is one batched read of A and one update of C. TTv2
and c-TTv2 in exact mode on the float64 numba backend run a whole batch in one compiled call
(``transfer_kernel``: the same steps and random streams, so the same numbers).
``reference.reference_transfer`` is the slow, per-pulse reference this is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import DeviceConfig, IOConfig, IOSection, UpdateConfig
from ..config.transfer import BUFFERED
from .activity import TileActivity
from .pulses import UpdateStats, max_train_length
from .tile import AnalogTile, UpdateMode
from .transfer_kernel import buffered_transfer_loop

IDEAL = DeviceConfig(type="ideal")


@dataclass(frozen=True)
class TransferSettings:
    """The resolved parameters of a transfer algorithm, in the units the tile uses."""

    algorithm: str
    gamma: float
    every: int  # rank-1 updates between transfers
    reads: int  # columns per transfer
    transfer_lr: float
    scale_transfer_lr: bool
    fast_lr: float
    scale_fast_lr: bool
    read_io: IOConfig  # the transfer reads' periphery, management off
    write: UpdateConfig  # the pulsed update of C at a transfer
    thres_scale: float
    auto_granularity: float
    transfer_every: float  # as given (aihwkit's auto_granularity divides by it)
    step: float
    momentum: float
    forget_buffer: bool
    in_chop_prob: float
    out_chop_prob: float

    def threshold(self, dw_min: float, columns: int) -> float:
        """The buffer's step: thres_scale dw_min, times auto_granularity / (columns transfer_every)."""
        scale = self.auto_granularity / (columns * self.transfer_every) if self.auto_granularity > 0 else 1.0
        return self.thres_scale * dw_min * scale

    @property
    def buffered(self) -> bool:
        return self.algorithm in BUFFERED

    @property
    def chopped(self) -> bool:
        return self.algorithm == "c-ttv2"


def transfer_settings(device: DeviceConfig, io: IOSection, update: UpdateConfig, streams: int) -> TransferSettings:
    """The device's transfer algorithm with aihwkit's per-algorithm defaults filled in;
    ``streams`` is the mini-batch of ``units_in_mbatch`` (rank-1 updates per time step)."""
    t, algorithm = device.transfer, device.algorithm
    buffered = algorithm in BUFFERED
    in_mbatch = t.units_in_mbatch if t.units_in_mbatch is not None else not buffered
    every = max(1, math.ceil(t.transfer_every * streams) if in_mbatch else round(t.transfer_every))
    read_io = (t.transfer_forward or io.forward).model_copy(update={"noise_management": "none", "bound_management": "none"})
    write = t.transfer_update
    if write is None:
        write = UpdateConfig(desired_bl=1, update_management=False, update_bl_management=False) if buffered else update
    momentum = t.momentum if t.momentum is not None else (0.1 if algorithm == "ttv2" else 0.0)
    return TransferSettings(algorithm, t.gamma, every, t.n_reads_per_transfer, t.transfer_lr, t.scale_transfer_lr,
                            t.fast_lr, t.scale_fast_lr, read_io, write, t.thres_scale, t.auto_granularity,
                            t.transfer_every, t.step, momentum,
                            t.forget_buffer, t.in_chop_prob, t.out_chop_prob)


class TransferTile:
    """An (out_size x in_size) weight held by a fast array A (``fast``) and a slow array C
    (``slow``) of the same device, read as W = gamma A + C; see the module doc.

    ``activity``: the reads of W (forward, backward), the pulsed updates of A (updates, pulses,
    coincidences) and the transfers (``transfers``, ``transfer_*``), as TileActivity counters."""

    def __init__(
        self,
        out_size: int,
        in_size: int,
        device: DeviceConfig,
        io: IOSection,
        update: UpdateConfig,
        rng: np.random.Generator,
        mode: UpdateMode = "exact",
        settings: TransferSettings | None = None,
    ) -> None:
        self.settings = settings or transfer_settings(device, io, update, streams=1)
        s = self.settings
        self.out_size, self.in_size = out_size, in_size
        self.dw_min = device.dw_min
        # A reads through the transfer periphery (its reads are the transfer reads); C is pulsed by
        # the transfers; the network reads W through ``_view``, an ideal-device tile with the workload's
        # periphery whose weights are C itself (gamma = 0) or gamma A + C.
        self.fast = AnalogTile(out_size, in_size, device, IOSection(forward=s.read_io, backward=io.backward),
                               update, rng, mode)
        self.slow = AnalogTile(out_size, in_size, device, io, s.write, rng, mode)
        self._view = AnalogTile(out_size, in_size, IDEAL, io, update, rng, mode)
        self.rng = rng
        self.since_transfer = 0  # rank-1 updates since the last transfer
        self.next_column = 0
        self.transfers = 0
        self.buffer = np.zeros((out_size, in_size)) if s.buffered else None
        self.in_chopper = np.ones(in_size)
        self.out_chopper = np.ones(out_size)
        self._refresh()

    def reseed(self, rng: np.random.Generator) -> None:
        """Draw all further noise, pulse trains and chopper flips from ``rng``; the devices stay."""
        self.rng = rng
        for tile in (self.fast, self.slow, self._view):
            tile.reseed(rng)

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> np.ndarray:
        """W = gamma A + C, shape (out_size, in_size)."""
        return self._view.weights

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        """As aihwkit: C takes the weights (clipped to its devices), A and the buffer start at zero."""
        self.slow.weights = value
        self.fast.weights = np.zeros((self.out_size, self.in_size))
        if self.buffer is not None:
            self.buffer[...] = 0.0
        self._refresh()

    def _refresh(self) -> None:
        if self.settings.gamma == 0:
            self._view._weights = self.slow.weights  # the same array: W is C
        else:
            self._view._weights = self.settings.gamma * self.fast.weights + self.slow.weights

    # ------------------------------------------------------------------ reads
    def forward(self, x: np.ndarray) -> np.ndarray:
        return self._view.forward(x)

    def backward(self, d: np.ndarray) -> np.ndarray:
        return self._view.backward(d)

    # ------------------------------------------------------------------ update
    def update(self, x: np.ndarray, d: np.ndarray, lr: float) -> None:
        """The rank-1 updates of x (n, in) and d (n, out) on A, in order, with a transfer after
        every ``every``-th of them (counted across calls)."""
        x = AnalogTile._batch(x, self.in_size, "x")
        d = AnalogTile._batch(d, self.out_size, "d")
        if x.shape[0] != d.shape[0]:
            raise ValueError(f"x and d must have the same number of rows, got {x.shape[0]} and {d.shape[0]}")
        s = self.settings
        fast_lr = s.fast_lr * lr if s.scale_fast_lr else s.fast_lr
        if self._fused:
            self._buffered_exact(x, d, lr, fast_lr)
            self._refresh()
            return
        start = 0
        while start < x.shape[0]:
            stop = min(x.shape[0], start + s.every - self.since_transfer)
            xs, ds = x[start:stop], d[start:stop]
            if s.chopped:
                xs, ds = xs * self.in_chopper, ds * self.out_chopper
            self.fast.update(xs, ds, fast_lr)
            self.since_transfer += stop - start
            start = stop
            if self.since_transfer == s.every:
                self.since_transfer = 0
                self._transfer(lr)
        self._refresh()

    @property
    def _fused(self) -> bool:
        """Whether ``update`` runs in one compiled call (transfer_kernel): the buffered algorithms in
        exact mode on the float64 numba backend, reading at most every column once per transfer."""
        s = self.settings
        return (s.buffered and self.fast.mode == "exact" and s.reads <= self.in_size
                and self.fast.backend == "numba" and self.slow.backend == "numba")

    def _buffered_exact(self, x: np.ndarray, d: np.ndarray, lr: float, fast_lr: float) -> None:
        """``update`` for TTv2 and c-TTv2 in exact mode, in one kernel call (the same numbers as the
        loop below, which the other cases take)."""
        if lr < 0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not (np.isfinite(x).all() and np.isfinite(d).all()):
            raise ValueError("update: x and d must be finite (the training diverged?)")
        s, fast, slow = self.settings, self.fast, self.slow
        dw_min = fast.device_config.granularity
        slow_lr = s.step * self.dw_min
        lr_t = s.transfer_lr * lr if s.scale_transfer_lr else s.transfer_lr
        if s.gamma > 0:
            lr_t *= s.gamma
        flips = self._flip_draws(x.shape[0]) if s.chopped else np.empty(0)
        fast_stats, slow_stats = np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int64)
        read_counts = np.zeros(2, dtype=np.int64)
        read_perfect = fast.io.forward.is_perfect

        def devices(tile: AnalogTile) -> tuple:
            dev = tile.devices
            return dev.packed, dev.dw_min_std, dev.model, dev.exp

        def management(tile: AnalogTile, rate: float) -> tuple:
            up = tile.update_config
            return (float(dw_min), up.desired_bl, up.fixed_bl, up.manages_updates, up.update_bl_management,
                    max_train_length(rate, dw_min, up))

        since, self.next_column, transfers, used = buffered_transfer_loop(
            x, d, float(fast_lr), fast.weights, devices(fast), management(fast, fast_lr), fast._stream, fast_stats,
            fast._forward_params, read_perfect, read_counts,
            slow.weights, devices(slow), management(slow, slow_lr), slow._stream, slow_stats,
            self.buffer, self.in_chopper, self.out_chopper, flips,
            (s.every, s.reads, self.since_transfer, self.next_column, s.chopped),
            (float(lr_t), s.threshold(self.dw_min, self.in_size), float(s.write.desired_bl), s.momentum,
             s.forget_buffer, float(slow_lr), s.in_chop_prob, s.out_chop_prob))
        assert used == flips.size
        self.since_transfer, self.transfers = int(since), self.transfers + int(transfers)
        for tile, stats in ((fast, fast_stats), (slow, slow_stats)):
            tile._weights32 = None
            tile.activity.count_update(UpdateStats(*(int(v) for v in stats)))
        fast.activity.count_forward(int(transfers) * s.reads, int(read_counts[0]), int(read_counts[1]), self.out_size)

    def _flip_draws(self, updates: int) -> np.ndarray:
        """The uniforms the choppers' flips take over the next ``updates`` rank-1 updates, drawn at
        once (one Generator stream: the same numbers as drawing them flip by flip)."""
        s = self.settings
        transfers = (self.since_transfer + updates) // s.every
        draws, column = 0, self.next_column
        for _ in range(transfers):
            last = (column + s.reads - 1) % self.in_size
            column = (last + 1) % self.in_size
            draws += s.reads + (self.out_size if last == self.in_size - 1 and s.out_chop_prob > 0 else 0)
        return self.rng.random(draws)

    def _transfer(self, lr: float) -> None:
        s = self.settings
        columns = (self.next_column + np.arange(s.reads)) % self.in_size
        self.next_column = int(columns[-1] + 1) % self.in_size
        self.transfers += 1
        onehot = np.zeros((s.reads, self.in_size))
        onehot[np.arange(s.reads), columns] = 1.0
        read = self.fast.forward(onehot)  # (reads, out): A[:, j] through the transfer periphery
        lr_t = s.transfer_lr * lr if s.scale_transfer_lr else s.transfer_lr
        if not s.buffered:
            self.slow.update(onehot, -read, lr_t)
            return
        if s.gamma > 0:
            lr_t *= s.gamma  # aihwkit's gamma_A / gamma_C
        if s.chopped:
            read *= self.in_chopper[columns, None] * self.out_chopper[None, :]
        steps = self._buffer_steps(columns, read * lr_t)
        if np.any(steps):
            self.slow.update(onehot, -steps, s.step * self.dw_min)
        if s.chopped:
            self._flip_choppers(columns)

    def _buffer_steps(self, columns: np.ndarray, added: np.ndarray) -> np.ndarray:
        """Add ``added`` (reads, out) into the buffer's columns; return the steps to pulse into C
        (reads, out) and take them off the buffer."""
        s = self.settings
        threshold = s.threshold(self.dw_min, self.in_size)
        max_steps = s.write.desired_bl
        h = self.buffer[:, columns].T + added
        steps = np.clip(np.trunc(h / threshold), -max_steps, max_steps)
        moved = steps != 0
        if s.forget_buffer:
            h = np.where(moved, h * s.momentum, h)
        else:
            h = h - (1.0 - s.momentum) * steps * threshold
        self.buffer[:, columns] = h.T
        return steps

    def _flip_choppers(self, columns: np.ndarray) -> None:
        s = self.settings
        flips = self.rng.random(columns.size) < s.in_chop_prob
        self.in_chopper[columns[flips]] *= -1.0
        if columns[-1] == self.in_size - 1 and s.out_chop_prob > 0:
            self.out_chopper[self.rng.random(self.out_size) < s.out_chop_prob] *= -1.0

    # ------------------------------------------------------------------ counters
    @property
    def activity(self) -> TileActivity:
        view, fast, slow = self._view.activity, self.fast.activity, self.slow.activity
        return TileActivity(
            forward_vectors=view.forward_vectors,
            forward_repeats=view.forward_repeats,
            forward_outputs=view.forward_outputs,
            forward_saturated=view.forward_saturated,
            backward_vectors=view.backward_vectors,
            backward_outputs=view.backward_outputs,
            backward_saturated=view.backward_saturated,
            updates=fast.updates,
            update_bl=fast.update_bl,
            x_pulses=fast.x_pulses,
            d_pulses=fast.d_pulses,
            coincidences=fast.coincidences,
            transfers=self.transfers,
            transfer_reads=fast.forward_vectors,
            transfer_outputs=fast.forward_outputs,
            transfer_updates=slow.updates,
            transfer_bl=slow.update_bl,
            transfer_x_pulses=slow.x_pulses,
            transfer_d_pulses=slow.d_pulses,
            transfer_coincidences=slow.coincidences,
        )
