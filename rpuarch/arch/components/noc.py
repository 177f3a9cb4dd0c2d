"""The on-chip network: tiles on a mesh, and how many router hops a transfer between two of them takes.

Tiles are numbered row by row on the mesh; the network's arrays take tiles in mapping order (the
blocks of one array on consecutive tiles, ``arrays_per_tile`` blocks per tile), copies after one
another. A transfer between two tiles takes their Manhattan distance in hops (at least one, none
within a tile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    mesh_cols: int
    tiles_of_block: dict[str, tuple[int, ...]]  # array name -> tile of each of its blocks (copy 0)
    copy_stride: int  # tiles between a block and the same block of the next copy

    def hops(self, a: int, b: int) -> int:
        (ra, ca), (rb, cb) = divmod(a, self.mesh_cols), divmod(b, self.mesh_cols)
        return abs(ra - rb) + abs(ca - cb)

    def between(self, source: str, target: str) -> int:
        """Hops from the (first tile of) array ``source`` to array ``target``: at least one between tiles."""
        a, b = self.tiles_of_block[source][0], self.tiles_of_block[target][0]
        return max(1, self.hops(a, b)) if a != b else 0

    def reduction(self, name: str, grid: tuple[int, int], axis: int) -> float:
        """Mean hops of a partial-sum vector of a split array to the block that adds them: per row
        band (axis 0, forward) or column band (axis 1, backward), every other block sends to the first."""
        row_bands, col_bands = grid
        tiles = self.tiles_of_block[name]
        at = lambda r, c: tiles[r * col_bands + c]  # noqa: E731
        groups = ([[at(r, c) for c in range(col_bands)] for r in range(row_bands)] if axis == 0
                  else [[at(r, c) for r in range(row_bands)] for c in range(col_bands)])
        sends = [self.hops(g[0], t) for g in groups for t in g[1:]]
        return sum(sends) / len(sends) if sends else 0.0

    def between_copies(self, name: str, copies: int) -> float:
        """Mean hops from copy 0 of an array to each other copy."""
        if copies <= 1:
            return 0.0
        first = self.tiles_of_block[name][0]
        return sum(self.hops(first, first + k * self.copy_stride) for k in range(1, copies)) / (copies - 1)


def place(blocks_per_array: dict[str, int], arrays_per_tile: int, mesh_cols: int) -> Placement:
    """Consecutive tiles for each array's blocks, in order; copies follow one another."""
    out: dict[str, tuple[int, ...]] = {}
    slot = 0
    for name, blocks in blocks_per_array.items():
        out[name] = tuple((slot + k) // arrays_per_tile for k in range(blocks))
        slot += blocks
    return Placement(mesh_cols, out, math.ceil(slot / arrays_per_tile))
