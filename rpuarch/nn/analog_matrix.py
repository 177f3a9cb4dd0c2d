"""A logical weight array held by one or more physical tiles, with its digital bias if it has one.

A logical array larger than a tile (or split into parts) is cut into blocks by ``rpuarch.mapping``
(the same mapping the cost model places on the chip). Each block is its own tile with its own
periphery, noise and random stream; the forward partial sums of the blocks of a row band, and the
backward partial sums of a column band, are added digitally.

A digital bias (``network.bias: digital``) is added to the outputs by the vector unit and trained
in floating point, as aihwkit's ``digital_bias``: the same SGD step on every network, b -= lr *
sum of the window's output gradients (what an analog bias column would get in expectation).
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from ..device.activity import TileActivity
from ..mapping import ArrayMapping


class Tile(Protocol):
    """What the network needs of a physical tile (rpuarch.device.tile.AnalogTile)."""

    weights: np.ndarray
    activity: TileActivity

    def forward(self, x: np.ndarray) -> np.ndarray: ...

    def backward(self, d: np.ndarray) -> np.ndarray: ...

    def update(self, x: np.ndarray, d: np.ndarray, lr: float) -> None: ...


TileFactory = Callable[[int, int, np.random.Generator], Tile]  # (out_size, in_size, rng) -> tile


class AnalogMatrix:
    """``mapping.array`` (rows x cols) over ``mapping.tiles`` tiles made by ``make_tile``, plus a
    digital bias ``bias`` (rows,) when the array has one (else None)."""

    def __init__(self, mapping: ArrayMapping, make_tile: TileFactory, seed: np.random.SeedSequence):
        self.mapping = mapping
        self.name = mapping.array.name
        self.shape = (mapping.array.rows, mapping.array.cols)
        self.blocks = mapping.blocks
        self.tiles = [
            make_tile(block.shape[0], block.shape[1], np.random.default_rng(child))
            for block, child in zip(self.blocks, seed.spawn(len(self.blocks)))
        ]
        self.bias: np.ndarray | None = np.zeros(self.shape[0]) if mapping.array.digital_bias else None
        if len(self.tiles) == 1:
            # The common case: no slicing and no digital sums, the tile's own method.
            self.backward = self.tiles[0].backward  # type: ignore[method-assign]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (batch, cols) -> (batch, rows), approximately x @ W.T (+ the digital bias)."""
        if len(self.tiles) == 1:
            out = self.tiles[0].forward(x)
        else:
            out = np.zeros((x.shape[0], self.shape[0]))
            for block, tile in zip(self.blocks, self.tiles):
                out[:, block.r0 : block.r1] += tile.forward(x[:, block.c0 : block.c1])
        if self.bias is not None:
            out += self.bias
        return out

    def backward(self, d: np.ndarray) -> np.ndarray:
        """d (batch, rows) -> (batch, cols), approximately d @ W."""
        out = np.zeros((d.shape[0], self.shape[1]))
        for block, tile in zip(self.blocks, self.tiles):
            out[:, block.c0 : block.c1] += tile.backward(d[:, block.r0 : block.r1])
        return out

    def update(self, x: np.ndarray, d: np.ndarray, lr: float) -> None:
        """In expectation W -= lr * d.T @ x; every tile gets the same (x, d) pairs, in order. A
        digital bias takes b -= lr * sum of d (exact, floating point)."""
        if self.bias is not None:
            self.bias -= lr * d.sum(axis=0)
        if len(self.tiles) == 1:
            self.tiles[0].update(x, d, lr)
            return
        for block, tile in zip(self.blocks, self.tiles):
            tile.update(
                np.ascontiguousarray(x[:, block.c0 : block.c1]), np.ascontiguousarray(d[:, block.r0 : block.r1]), lr
            )

    @property
    def weights(self) -> np.ndarray:
        out = np.empty(self.shape)
        for block, tile in zip(self.blocks, self.tiles):
            out[block.r0 : block.r1, block.c0 : block.c1] = tile.weights
        return out

    @weights.setter
    def weights(self, values: np.ndarray) -> None:
        if values.shape != self.shape:
            raise ValueError(f"{self.name}: weights of shape {values.shape}, expected {self.shape}")
        for block, tile in zip(self.blocks, self.tiles):
            tile.weights = np.array(values[block.r0 : block.r1, block.c0 : block.c1])

    @property
    def activity(self) -> TileActivity:
        """The counters of all its tiles, summed."""
        total = TileActivity()
        for tile in self.tiles:
            total.add(tile.activity)
        return total
