"""Map a network's weight matrices onto physical RPU tiles.

Shared by training (which splits a matrix over tiles, each with its own periphery) and by the
cost model (which places the tiles on the chip), so both see the same mapping.

As in Gokmen, Rasch & Haensch 2018: an LSTM layer is ONE logical array of 4h x (x + h + 1) (the
four gates stacked, input and recurrent weights side by side, a bias column driven by a constant
input); the softmax layer is v x (h + 1). A logical array larger than a tile is cut into a grid of
ceil(rows / tile.rows) x ceil(cols / tile.cols) blocks of near-equal size; the partial sums of
the blocks of a row band are added digitally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class LogicalArray:
    """One weight matrix of the network: ``rows`` outputs x ``cols`` inputs (bias included)."""

    name: str
    kind: Literal["lstm", "softmax", "dense"]
    rows: int
    cols: int

    @property
    def weights(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class Block:
    """The part of a logical array held by one physical tile: rows [r0, r1), columns [c0, c1)."""

    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.r1 - self.r0, self.c1 - self.c0


def _cuts(size: int, parts: int) -> list[tuple[int, int]]:
    edges = [round(i * size / parts) for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


@dataclass(frozen=True)
class ArrayMapping:
    array: LogicalArray
    tile_rows: int
    tile_cols: int

    @property
    def grid(self) -> tuple[int, int]:
        """Tiles along the output (row) and input (column) dimension."""
        return math.ceil(self.array.rows / self.tile_rows), math.ceil(self.array.cols / self.tile_cols)

    @property
    def blocks(self) -> list[Block]:
        row_bands, col_bands = self.grid
        return [
            Block(r0, r1, c0, c1)
            for r0, r1 in _cuts(self.array.rows, row_bands)
            for c0, c1 in _cuts(self.array.cols, col_bands)
        ]

    @property
    def tiles(self) -> int:
        row_bands, col_bands = self.grid
        return row_bands * col_bands

    @property
    def utilization(self) -> float:
        """Fraction of the devices of its tiles that hold a weight of this array."""
        return self.array.weights / (self.tiles * self.tile_rows * self.tile_cols)

    def to_dict(self) -> dict:
        return {
            "name": self.array.name,
            "kind": self.array.kind,
            "logical_shape": [self.array.rows, self.array.cols],
            "weights": self.array.weights,
            "tile_grid": list(self.grid),
            "physical_tiles": self.tiles,
            "block_shapes": [list(b.shape) for b in self.blocks],
            "utilization": self.utilization,
        }


def lstm_arrays(vocab_size: int, hidden: int, layers: int) -> list[LogicalArray]:
    """The logical arrays of a stacked one-hot-input LSTM with a softmax layer."""
    arrays = []
    inputs = vocab_size
    for layer in range(layers):
        arrays.append(LogicalArray(f"lstm{layer}", "lstm", 4 * hidden, inputs + hidden + 1))
        inputs = hidden
    arrays.append(LogicalArray("softmax", "softmax", vocab_size, hidden + 1))
    return arrays


def mlp_arrays(sizes: list[int]) -> list[LogicalArray]:
    """Fully connected layers sizes[0] -> sizes[1] -> ..., each with a bias column."""
    return [
        LogicalArray(f"dense{i}", "dense", n_out, n_in + 1)
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]


@dataclass(frozen=True)
class NetworkMapping:
    arrays: tuple[ArrayMapping, ...]

    @classmethod
    def build(cls, arrays: list[LogicalArray], tile_rows: int, tile_cols: int) -> NetworkMapping:
        return cls(tuple(ArrayMapping(a, tile_rows, tile_cols) for a in arrays))

    @property
    def weights(self) -> int:
        return sum(m.array.weights for m in self.arrays)

    @property
    def tiles(self) -> int:
        return sum(m.tiles for m in self.arrays)

    @property
    def utilization(self) -> float:
        return sum(m.array.weights for m in self.arrays) / sum(
            m.tiles * m.tile_rows * m.tile_cols for m in self.arrays
        )

    def to_dict(self) -> dict:
        return {
            "weights": self.weights,
            "physical_tiles": self.tiles,
            "utilization": self.utilization,
            "layers": [m.to_dict() for m in self.arrays],
        }
