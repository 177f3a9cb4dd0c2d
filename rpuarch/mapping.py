"""Map a network's weight matrices onto physical RPU tiles.

Shared by training (which splits a matrix over tiles, each with its own periphery) and by the
cost model (which places the tiles on the chip), so both see the same mapping.

Two choices (``network.bias``, ``network.arrays``; docs/training.md says which the evidence picks):
- ``bias: analog``: as in Gokmen, Rasch & Haensch 2018, a bias is a crossbar column driven by a
  constant input 1; ``digital``: the vector unit adds it to the outputs and trains it in floating
  point (aihwkit's ``digital_bias``), so the array has one column less.
- ``arrays: combined``: an LSTM layer is ONE array of 4h x (x + h [+ 1]) (the paper's: the four
  gates stacked, input and recurrent weights side by side); ``split``: W_ih [with the bias column]
  and W_hh sit on separate tiles (aihwkit's ``AnalogLSTM``), each with its own periphery and
  management, their partial sums added digitally.
The softmax layer is v x (h [+ 1]). A logical array is cut into a grid of near-equal blocks of at
most tile.rows x tile.cols, one tile each (the parts of a split array separately); the partial sums
of the blocks of a row band are added digitally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

BiasMapping = Literal["analog", "digital"]
ArraysMapping = Literal["combined", "split"]
ONE = "1"  # name of the constant-input column of an analog bias


@dataclass(frozen=True)
class LogicalArray:
    """One weight matrix of the network: ``rows`` outputs x ``cols`` inputs (analog bias included).

    ``segments`` name its input columns in order: ``x`` (the layer input), ``h`` (the recurrent
    state), ``1`` (an analog bias); ``parts`` are the column counts of the parts held on separate
    tiles ((("ih", n), ("hh", h)) for a split LSTM layer, empty: one part); ``digital_bias`` is the
    number of outputs whose bias the vector unit adds (0 with an analog bias)."""

    name: str
    kind: Literal["lstm", "softmax", "dense"]
    rows: int
    cols: int
    segments: tuple[tuple[str, int], ...] = ()
    parts: tuple[tuple[str, int], ...] = ()
    digital_bias: int = 0

    def __post_init__(self) -> None:
        if self.segments and sum(n for _, n in self.segments) != self.cols:
            raise ValueError(f"{self.name}: segments {self.segments} do not add up to {self.cols} columns")
        if self.parts and sum(n for _, n in self.parts) != self.cols:
            raise ValueError(f"{self.name}: parts {self.parts} do not add up to {self.cols} columns")

    @property
    def weights(self) -> int:
        """Analog weights (devices), an analog bias column included."""
        return self.rows * self.cols

    def offset(self, segment: str) -> int | None:
        """First column of a named input segment (None: the array has no such segment)."""
        start = 0
        for name, size in self.segments:
            if name == segment:
                return start
            start += size
        return None

    @property
    def part_columns(self) -> list[tuple[int, int]]:
        """[c0, c1) of each part (one part covering every column when the array is not split)."""
        edges = [0]
        for _, size in self.parts or (("", self.cols),):
            edges.append(edges[-1] + size)
        return list(zip(edges[:-1], edges[1:]))


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


def _cuts(size: int, parts: int, start: int = 0) -> list[tuple[int, int]]:
    edges = [start + round(i * size / parts) for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


@dataclass(frozen=True)
class ArrayMapping:
    array: LogicalArray
    tile_rows: int
    tile_cols: int

    def _column_bands(self) -> list[tuple[int, int]]:
        return [band for c0, c1 in self.array.part_columns for band in _cuts(c1 - c0, math.ceil((c1 - c0) / self.tile_cols), c0)]

    @property
    def grid(self) -> tuple[int, int]:
        """Tiles along the output (row) and input (column) dimension."""
        return math.ceil(self.array.rows / self.tile_rows), len(self._column_bands())

    @property
    def blocks(self) -> list[Block]:
        return [
            Block(r0, r1, c0, c1)
            for r0, r1 in _cuts(self.array.rows, self.grid[0])
            for c0, c1 in self._column_bands()
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
            "digital_bias": self.array.digital_bias,
            "parts": [{"name": name, "cols": cols} for name, cols in self.array.parts],
            "tile_grid": list(self.grid),
            "physical_tiles": self.tiles,
            "block_shapes": [list(b.shape) for b in self.blocks],
            "utilization": self.utilization,
        }


def lstm_arrays(vocab_size: int, hidden: int, layers: int, bias: BiasMapping = "analog",
                arrays: ArraysMapping = "combined") -> list[LogicalArray]:
    """The logical arrays of a stacked one-hot-input LSTM with a softmax layer.

    Input columns: combined [x, h, 1] (the paper's), split [x, 1 | h] (the bias column on the W_ih
    tile, whose one-hot input of the first layer has max |x| = 1 already), digital [x, h]."""
    if bias not in ("analog", "digital") or arrays not in ("combined", "split"):
        raise ValueError(f"bias must be analog or digital and arrays combined or split, got {bias!r}, {arrays!r}")
    one = ((ONE, 1),) if bias == "analog" else ()
    gates = 4 * hidden
    out = []
    inputs = vocab_size
    for layer in range(layers):
        x, h = ("x", inputs), ("h", hidden)
        segments = (x, *one, h) if arrays == "split" else (x, h, *one)
        parts = (("ih", inputs + len(one)), ("hh", hidden)) if arrays == "split" else ()
        out.append(LogicalArray(f"lstm{layer}", "lstm", gates, inputs + hidden + len(one), segments, parts,
                                0 if one else gates))
        inputs = hidden
    out.append(LogicalArray("softmax", "softmax", vocab_size, hidden + len(one), (("h", hidden), *one), (),
                            0 if one else vocab_size))
    return out


def mlp_arrays(sizes: list[int]) -> list[LogicalArray]:
    """Fully connected layers sizes[0] -> sizes[1] -> ..., each with a bias column."""
    return [
        LogicalArray(f"dense{i}", "dense", n_out, n_in + 1, (("x", n_in), (ONE, 1)))
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
        """Analog weights (devices); digital biases are counted apart."""
        return sum(m.array.weights for m in self.arrays)

    @property
    def digital_biases(self) -> int:
        return sum(m.array.digital_bias for m in self.arrays)

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
            "digital_biases": self.digital_biases,
            "physical_tiles": self.tiles,
            "utilization": self.utilization,
            "layers": [m.to_dict() for m in self.arrays],
        }
