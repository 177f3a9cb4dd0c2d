"""Which network the chip runs: its arrays placed on tiles and how data flows between them.

The LSTM comes from the workload (the same mapping as training, rpuarch/mapping.py); an MLP
(e.g. the MNIST 784-256-128-10 of the 2016 paper) can be costed through the Python API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from ..errors import ConfigError
from ..mapping import ONE, ArrayMapping, ArraysMapping, BiasMapping, NetworkMapping, lstm_arrays, mlp_arrays


@dataclass(frozen=True)
class ArrayRole:
    """One logical array of the network and its place in the data flow."""

    mapping: ArrayMapping
    source: int | None  # the array whose output is this array's input (None: the data)
    recurrent: bool  # its input includes its own output of the previous step
    backward_mvm: bool  # errors must be propagated through it to its input
    hidden: int  # units of an LSTM layer (0 for other arrays)
    cell: Literal["lstm", "softmax", "sigmoid"]  # what the vector unit computes from the outputs

    @property
    def name(self) -> str:
        return self.mapping.array.name

    @property
    def kind(self) -> str:
        return self.mapping.array.kind

    @property
    def rows(self) -> int:
        return self.mapping.array.rows

    @property
    def cols(self) -> int:
        return self.mapping.array.cols

    @property
    def digital_bias(self) -> int:
        """Outputs whose bias the vector unit adds and keeps in memory (0: an analog bias column)."""
        return self.mapping.array.digital_bias

    @property
    def inputs(self) -> int:
        """Columns of the layer's own input: without the recurrent state and a bias column."""
        return self.cols - self.hidden - (self.mapping.array.offset(ONE) is not None)

    @property
    def parameters(self) -> int:
        """Weights and biases, analog or digital."""
        return self.rows * self.cols + self.digital_bias


@dataclass(frozen=True)
class NetworkSpec:
    """A network with its mapping and its training schedule: ``streams`` independent sequences
    (the batch), ``steps`` time steps per window (1 for an MLP), one SGD window at a time."""

    label: str
    kind: Literal["lstm", "mlp"]
    roles: tuple[ArrayRole, ...]
    streams: int
    steps: int
    unit: Literal["char", "sample"]
    replicas: int = 1  # copies of every array on the chip, each serving a share of the streams

    @property
    def mapping(self) -> NetworkMapping:
        return NetworkMapping(tuple(r.mapping for r in self.roles))

    @property
    def tiles(self) -> int:
        """Tiles of one copy of the network."""
        return sum(r.mapping.tiles for r in self.roles)

    @property
    def tiles_used(self) -> int:
        return self.tiles * self.replicas

    @property
    def streams_per_replica(self) -> int:
        """Streams of the busiest copy."""
        return math.ceil(self.streams / self.replicas)

    @property
    def items_per_window(self) -> int:
        return self.streams * self.steps

    def consumers(self, index: int) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r.source == index]


def lstm_network(vocab_size: int, hidden: int, layers: int, tile_rows: int, tile_cols: int,
                 streams: int, steps: int, bias: BiasMapping = "analog", arrays: ArraysMapping = "combined") -> NetworkSpec:
    """The workload's LSTM as training maps it (``network.bias``, ``network.arrays``): a split
    layer is one array whose W_ih and W_hh parts sit on separate tiles of its resource."""
    arrays = lstm_arrays(vocab_size, hidden, layers, bias, arrays)
    mapping = NetworkMapping.build(arrays, tile_rows, tile_cols)
    roles = []
    for i, m in enumerate(mapping.arrays):
        is_lstm = m.array.kind == "lstm"
        roles.append(ArrayRole(m, source=i - 1 if i > 0 else None, recurrent=is_lstm, backward_mvm=True,
                               hidden=hidden if is_lstm else 0, cell="lstm" if is_lstm else "softmax"))
    return NetworkSpec(f"LSTM{layers}-{hidden} (vocabulary {vocab_size})", "lstm", tuple(roles), streams, steps, "char")


def mlp_network(sizes: list[int], tile_rows: int, tile_cols: int, batch: int = 1) -> NetworkSpec:
    """Fully connected layers (sigmoid hidden units, softmax output); the first layer needs no
    backward product (nothing consumes the error of the input)."""
    mapping = NetworkMapping.build(mlp_arrays(sizes), tile_rows, tile_cols)
    last = len(mapping.arrays) - 1
    roles = tuple(
        ArrayRole(m, source=i - 1 if i > 0 else None, recurrent=False, backward_mvm=i > 0, hidden=0,
                  cell="softmax" if i == last else "sigmoid")
        for i, m in enumerate(mapping.arrays)
    )
    return NetworkSpec("MLP " + "-".join(str(s) for s in sizes), "mlp", roles, batch, 1, "sample")


def replicated(network: NetworkSpec, capacity: int, replicate: str) -> NetworkSpec:
    """The network with as many copies as the chip's ``capacity`` arrays hold (at most one per stream)."""
    if replicate == "none":
        return network
    copies = max(1, min(network.streams, capacity // max(1, network.tiles)))
    return replace(network, replicas=copies)


def check_fits(network: NetworkSpec, capacity: int, source: str, arrays_per_tile: int = 1) -> None:
    """The network's arrays must fit the chip's ``capacity`` arrays (tiles x arrays per tile)."""
    needed = network.tiles
    if needed > capacity:
        tiles = math.ceil(needed / arrays_per_tile)
        per = f" ({arrays_per_tile} arrays each)" if arrays_per_tile > 1 else ""
        raise ConfigError(
            source, "chip.tiles",
            f"the network does not fit: {network.label} needs {tiles} tiles{per} of"
            f" {network.roles[0].mapping.tile_rows} x {network.roles[0].mapping.tile_cols},"
            f" the chip has {capacity // arrays_per_tile}.",
            f"chip.tiles >= {tiles}, larger tiles (tile.rows, tile.cols), or a smaller network",
        )
