"""Memories: SRAM energy per access by capacity and node (the CACTI table of the component library)."""

from __future__ import annotations

import functools
import math

from ...errors import ConfigError

TABLE = "sram/cacti-7"


@functools.cache
def _sram_table() -> dict[int, list[tuple[float, float]]]:
    """node (nm) -> [(capacity in bytes, joules per byte)] of models/components/sram/cacti-7.yaml."""
    from ...config.loader import component_path, read_yaml

    data = read_yaml(component_path(TABLE), "component")
    access_bytes = data["access_bits"] / 8
    return {int(node): sorted((float(kb) * 1024, pj * 1e-12 / access_bytes) for kb, pj in table.items())
            for node, table in data["energy_pJ_per_access"].items()}


def sram_byte_J(node_nm: int, capacity_MB: float, source: str = "workload") -> tuple[float, str]:
    """Energy per byte of an SRAM of ``capacity_MB`` at ``node_nm`` from the CACTI table, and how it
    was found (interpolated log-log, or extrapolated past the largest capacity with the slope of
    the two largest: a larger memory is more banks and a longer H-tree)."""
    table = _sram_table()
    if node_nm not in table:
        raise ConfigError(source, "chip.memory.node_nm", f"no CACTI table for {node_nm} nm.",
                          "one of " + ", ".join(f"{n}" for n in sorted(table)) + ", or give chip.memory.energy_pJ_per_byte")
    points = table[node_nm]
    size = max(capacity_MB * 1e6, points[0][0])
    how = f"CACTI 7.0.3 at {node_nm} nm and {capacity_MB:g} MB"
    if size > points[-1][0]:
        (c0, e0), (c1, e1) = points[-2:]
        how += f", extrapolated past {c1 / 2**20:g} MB with the slope of the two largest capacities"
    else:
        (c0, e0), (c1, e1) = next((a, b) for a, b in zip(points, points[1:]) if b[0] >= size)
    slope = math.log(e1 / e0) / math.log(c1 / c0)
    return e0 * (size / c0) ** slope, how
