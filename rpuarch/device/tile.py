"""One physical analog array (tile) with its periphery: forward, backward and the pulsed update.

Orientation (see activity.py): the tile holds W of shape (out_size, in_size); forward drives the
``in`` lines, y = W x; backward drives the ``out`` lines, z = W^T d; the update sends pulse trains
of x on the ``in`` lines and of d on the ``out`` lines and moves W by about -lr * d x^T.

dtype: the weights, the per-device parameters and all outputs are float64. A pulse is 1e-3 of the
weight range and an ideal update can be 1e-7 of a weight; float32 would round both away near the
bounds, and the matrices are small enough (<= a few 1e5 weights) that float64 costs little.

The floating-point twin, ``AnalogTile(device=ideal, io=PERFECT_IO)``, is a bare matmul forward
and backward and an exact ``W -= lr * d.T @ x`` update.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from ..config import DeviceConfig, IOSection, UpdateConfig
from . import kernels, periphery, periphery_kernel, pulses
from .activity import TileActivity
from .devices import DeviceArrays, draw_devices
from .fastrandom import seed_state

UpdateMode = Literal["exact", "aggregated"]
Backend = Literal["numba", "numba-f32", "numpy"]


def default_backend() -> Backend:
    """numba unless RPUARCH_BACKEND says numpy (the pure-numpy fallback, slower, same
    distribution) or numba-f32 (the analog products in float32, faster, same distribution:
    docs/device.md, Speed)."""
    value = os.environ.get("RPUARCH_BACKEND", "").lower()
    return value if value in ("numpy", "numba-f32") else "numba"


class AnalogTile:
    """An (out_size x in_size) resistive array with DACs, ADCs and a pulsed update.

    ``rng`` is used for everything random: the device-to-device variation (drawn here, once), the
    periphery noise and the pulse trains. ``mode`` selects how ``update`` applies a batch: ``exact``
    applies its rank-1 updates one after another (as the hardware does), ``aggregated`` counts the
    coincidences of the whole batch first and applies them at once (faster; see docs/device.md).
    """

    def __init__(
        self,
        out_size: int,
        in_size: int,
        device: DeviceConfig,
        io: IOSection,
        update: UpdateConfig,
        rng: np.random.Generator,
        mode: UpdateMode = "exact",
    ) -> None:
        if out_size < 1 or in_size < 1:
            raise ValueError(f"tile size must be positive, got {out_size} x {in_size}")
        if mode not in ("exact", "aggregated"):
            raise ValueError(f"mode must be 'exact' or 'aggregated', got {mode!r}")
        self.out_size, self.in_size = out_size, in_size
        self.device_config, self.io, self.update_config = device, io, update
        self.rng, self.mode = rng, mode
        self.backend: Backend = default_backend()
        self.activity = TileActivity()
        self.is_ideal = device.type == "ideal"
        self.devices: DeviceArrays | None = (
            None if self.is_ideal else draw_devices(device, (out_size, in_size), rng)
        )
        self._weights = np.zeros((out_size, in_size), dtype=np.float64)
        # The numba kernels draw from a xoshiro stream seeded once here from ``rng``, and read
        # the periphery as packed scalars: both snapshots of construction time (build a new
        # tile to change ``io``), so that a call costs microseconds, not tens of them.
        self._stream = seed_state(rng)
        self._forward_params = periphery_kernel.pack(io.forward, bound_management=True)
        self._backward_params = periphery_kernel.pack(io.backward, bound_management=False)
        self._weights32: np.ndarray | None = None  # numba-f32: W in float32, made when first read

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_weights32"}  # a copy of W: not in checkpoints

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _weights32=None)

    def reseed(self, rng: np.random.Generator) -> None:
        """Draw all further noise and pulse trains from ``rng``; the devices stay as drawn."""
        self.rng = rng
        self._stream = seed_state(rng)

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> np.ndarray:
        """W, shape (out_size, in_size), float64. The returned array is the tile's own state."""
        return self._weights

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=np.float64)
        if value.shape != (self.out_size, self.in_size):
            raise ValueError(f"weights must have shape {(self.out_size, self.in_size)}, got {value.shape}")
        if self.devices is None:
            self._weights = value.copy()
        else:  # a device cannot hold a conductance beyond its own bounds
            self._weights = np.clip(value, self.devices.w_min, self.devices.w_max)
        self._weights32 = None

    def _read_weights(self) -> np.ndarray:
        """The weights the analog products read: W, or its float32 copy with numba-f32 (made
        again after every update)."""
        if self.backend != "numba-f32":
            return self._weights
        if self._weights32 is None:
            self._weights32 = self._weights.astype(np.float32)
        return self._weights32

    # ------------------------------------------------------------------ reads
    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = W x for each row of x (batch, in_size) -> (batch, out_size), through the periphery."""
        x = self._batch(x, self.in_size, "x")
        io = self.io.forward
        if io.is_perfect:
            self.activity.count_forward(x.shape[0], 0, 0, self.out_size)
            return x @ self._weights.T
        if self.backend != "numpy":
            counts = np.zeros(2, dtype=np.int64)
            y = periphery_kernel.managed_matvec(self._read_weights().T, x, self._forward_params, self._stream, counts)
            repeats, saturated = int(counts[0]), int(counts[1])
        else:
            y, stats = periphery.matvec(self._weights, x, io, self.rng, bound_management=True)
            repeats, saturated = stats.repeats, stats.saturated
        self.activity.count_forward(x.shape[0], repeats, saturated, self.out_size)
        return y

    def backward(self, d: np.ndarray) -> np.ndarray:
        """z = W^T d for each row of d (batch, out_size) -> (batch, in_size), through the periphery.

        Bound management applies to the forward pass only (as in aihwkit)."""
        d = self._batch(d, self.out_size, "d")
        io = self.io.backward
        if io.is_perfect:
            self.activity.backward_vectors += d.shape[0]
            self.activity.backward_outputs += d.shape[0] * self.in_size
            return d @ self._weights
        if self.backend != "numpy":
            counts = np.zeros(2, dtype=np.int64)
            z = periphery_kernel.managed_matvec(self._read_weights(), d, self._backward_params, self._stream, counts)
            saturated = int(counts[1])
        else:
            z, stats = periphery.matvec(self._weights.T, d, io, self.rng, bound_management=False)
            saturated = stats.saturated
        a = self.activity
        a.backward_vectors += d.shape[0]
        a.backward_outputs += d.shape[0] * self.in_size
        a.backward_saturated += saturated
        return z

    # ------------------------------------------------------------------ update
    def update(self, x: np.ndarray, d: np.ndarray, lr: float) -> None:
        """SGD step W -= lr * d^T x (in expectation) from n rank-1 pairs x (n, in), d (n, out)."""
        x = self._batch(x, self.in_size, "x")
        d = self._batch(d, self.out_size, "d")
        if x.shape[0] != d.shape[0]:
            raise ValueError(f"x and d must have the same number of rows, got {x.shape[0]} and {d.shape[0]}")
        if lr < 0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if self.is_ideal:
            self.activity.updates += x.shape[0]
            self._weights -= lr * (d.T @ x)
            return
        if not (np.isfinite(x).all() and np.isfinite(d).all()):
            # A NaN has no pulse probability; refuse rather than send garbage trains.
            raise ValueError("update: x and d must be finite (the training diverged?)")
        dw_min = self.device_config.granularity  # aihwkit's weight granularity sets the pulse scales
        self._weights32 = None
        if self.backend != "numpy":
            stats = kernels.update(self._weights, x, d, lr, dw_min, self.update_config, self.devices,
                                   self.rng, aggregate=self.mode == "aggregated", state=self._stream)
        else:
            apply = pulses.aggregated_update if self.mode == "aggregated" else pulses.exact_update
            stats = apply(self._weights, x, d, lr, dw_min, self.update_config, self.devices, self.rng)
        self.activity.count_update(stats)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _batch(a: np.ndarray, size: int, name: str) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != size:
            raise ValueError(f"{name} must have shape (batch, {size}), got {a.shape}")
        return a

