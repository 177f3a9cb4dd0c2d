"""The chip's components, from their configuration to what one action of each costs.

``build_hardware`` turns the tile and chip sections of a workload (and the converter bits of its
``io`` section) into per-action time, energy, area and static power: the tile's arrays, input
converters, integrators, ADCs, update drivers, vector unit and other blocks; the chip's mesh and
network, activation memory, off-chip memory and blocks. The simulation charges actions of these
(rpuarch/arch/program.py); the roll-up adds their area and power (rpuarch/arch/rollup.py).
The kinds of converter are in ``converters``, the memory table in ``memory``, the mesh in ``noc``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...config.hardware import ChipConfig, TileConfig
from ...config.io import IOSection
from ...config.update import UpdateConfig
from ...errors import ConfigError
from .. import quantities as q
from .converters import adc_energy_J, adc_time_s, dac_energy_J, read_window_s
from .memory import sram_byte_J

# Energy components of the breakdown: the tile's, then the chip's.
ENERGY_COMPONENTS = (
    "array_read", "array_update", "dac", "integrator", "adc", "pulse_generation",
    "vector_unit", "memory", "offchip", "bus", "static",
)
DIRECTIONS = ("forward", "backward")

__all__ = ["ChipCosts", "Converters", "ENERGY_COMPONENTS", "Hardware", "TileCosts", "build_hardware", "sram_byte_J"]


@dataclass(frozen=True)
class Converters:
    """Resolutions the cost model charges, taken from the workload's io and update sections."""

    forward_dac_bits: int
    forward_adc_bits: int
    backward_dac_bits: int
    backward_adc_bits: int
    desired_bl: int


@dataclass(frozen=True)
class Direction:
    """What one read cycle of an array costs in one direction (forward: W x, backward: W^T d)."""

    window_s: float  # one read cycle
    reads: int  # read cycles per matrix-vector product (bit-serial cycles x read phases)
    dac_J: float  # one driven line, one cycle
    adc_J: float  # one output line, one conversion
    device_J: float  # one device at full scale for one cycle
    integrator_bias_J: float  # one output line's integrator or sample-and-hold, one cycle
    adc_bits: int


@dataclass(frozen=True)
class TileCosts:
    """Per-action time and energy of one tile, in seconds and joules."""

    rows: int
    cols: int
    arrays: int  # arrays per tile
    bidirectional: bool
    devices_per_weight: int
    slices_per_weight: int
    t_pulse_s: float
    directions: dict[str, Direction]
    adc_spec: object  # the ADCSpec, for conversion times
    integrates_charge: bool
    integrator_supply_V: float
    vector_op_J: float
    vector_ops_per_s: float
    slot_J: float  # one line, one pulse slot of the stochastic translation
    coincidence_extra_J: float  # a device between two coinciding pulses, beyond its two half-selects
    static_W: float  # the tile in use: leakage, its blocks and its share of a router
    wire_F_per_cell: float
    read_voltage_V: float
    update_voltage_V: float
    r_device_ohm: float
    program_iterations: float
    area_mm2: dict[str, float] = field(default_factory=dict)

    def adc_s(self, lines_read: int, direction: str) -> float:
        d = self.directions[direction]
        return adc_time_s(self.adc_spec, lines_read, d.adc_bits, d.window_s)

    def integrator_J(self, weights_on_line: int, input_fraction: float, direction: str = "forward") -> float:
        """One output line for one read cycle: the integrator's bias for the window, and the charge
        its devices deliver (each at the mean input, V_read * input_fraction / R_dev) from its supply.
        A line holds ``weights_on_line`` weights' devices, split over the weight's slices."""
        d = self.directions[direction]
        if not self.integrates_charge:
            return d.integrator_bias_J
        devices = weights_on_line * self.devices_per_weight / self.slices_per_weight
        charge = devices * self.read_voltage_V * input_fraction / self.r_device_ohm * d.window_s
        return d.integrator_bias_J + charge * self.integrator_supply_V

    def line_charge_J(self, cells: int, voltage_V: float) -> float:
        """Charging one row or column wire spanning ``cells`` cells."""
        return self.wire_F_per_cell * cells * voltage_V**2

    def pulse_J(self, cells: int) -> float:
        """One update pulse on a line of ``cells`` cells: the wire, and every device on it
        half-selected (V/2) for t_pulse."""
        v = self.update_voltage_V
        return self.line_charge_J(cells, v) + cells * (v / 2) ** 2 / self.r_device_ohm * self.t_pulse_s

    @property
    def tile_area_mm2(self) -> float:
        return sum(self.area_mm2.values())


@dataclass(frozen=True)
class ChipCosts:
    tiles: int
    mesh_cols: int
    static_W: float  # always on: control and clocks, off-chip interface, chip blocks
    bus_links: int
    bus_bytes_per_s: float
    hop_latency_s: float
    hop_bit_J: float
    word_bytes: float
    partial_sum_bytes: float
    memory_capacity_bytes: float
    memory_ports: int
    memory_bytes_per_s: float
    memory_byte_J: float
    offchip_bytes_per_s: float
    offchip_byte_J: float
    power_gating: bool
    reticle_limit_mm2: float
    max_power_density_W_per_mm2: float
    area_mm2: dict[str, float] = field(default_factory=dict)

    def bus_cost(self, words: float, hops: float = 1.0, word_bytes: float | None = None) -> tuple[float, float]:
        """(seconds, joules) of one transfer of ``words`` words (of ``word_bytes``, default the
        network's word) over ``hops`` router hops."""
        bits = words * (self.word_bytes if word_bytes is None else word_bytes) * 8
        return hops * self.hop_latency_s + bits / 8 / self.bus_bytes_per_s, bits * hops * self.hop_bit_J


@dataclass(frozen=True)
class Hardware:
    tile: TileCosts
    chip: ChipCosts
    converters: Converters
    checks: dict[str, dict]
    notes: tuple[str, ...]

    @property
    def chip_area_mm2(self) -> float:
        return self.chip.tiles * self.tile.tile_area_mm2 + sum(self.chip.area_mm2.values())


def converters_of(io: IOSection, update: UpdateConfig, tile: TileConfig) -> tuple[Converters, list[str]]:
    notes = []

    def bits(direction: str, kind: str) -> int:
        config = getattr(io, direction)
        effective = config.effective_inp_bits if kind == "dac" else config.effective_out_bits
        ref = tile.dac.ref_bits if kind == "dac" else tile.adc.ref_bits
        if config.is_perfect or not math.isfinite(effective):
            notes.append(
                f"io.{direction} has no {kind.upper()} quantisation; its {kind.upper()}s are costed at the"
                f" tile's reference resolution ({ref} bits)."
            )
            return ref
        return q.converter_bits(effective, ref)

    return Converters(
        forward_dac_bits=bits("forward", "dac"),
        forward_adc_bits=bits("forward", "adc"),
        backward_dac_bits=bits("backward", "dac"),
        backward_adc_bits=bits("backward", "adc"),
        desired_bl=update.desired_bl,
    ), notes


def _direction(tile: TileConfig, dac_bits: int, adc_bits: int) -> Direction:
    a = tile.array
    window, cycles = read_window_s(tile.dac, tile.t_int_ns * 1e-9, dac_bits)
    if a.read_energy_fJ is not None:
        device = a.read_energy_fJ * 1e-15
    else:
        device = a.read_voltage_V**2 / (a.r_device_MOhm * 1e6) * window
    return Direction(
        window_s=window,
        reads=cycles * tile.read_phases,
        dac_J=dac_energy_J(tile.dac, dac_bits),
        adc_J=adc_energy_J(tile.adc, adc_bits),
        device_J=device,
        integrator_bias_J=tile.integrator.bias_power_uW * 1e-6 * window,
        adc_bits=adc_bits,
    )


def tile_area_mm2(tile: TileConfig) -> dict[str, float]:
    """Area of one tile by component: per array its cells, DACs on the driven lines, integrators
    and ADCs on the output lines (both sides when bidirectional) and update drivers; then the
    tile's vector unit and blocks."""
    a = tile.array
    out_lines = tile.rows * a.slices_per_weight
    in_lines = tile.cols
    driven = in_lines + (tile.rows if tile.bidirectional else 0)
    converted = out_lines + (in_lines if tile.bidirectional else 0)
    adcs = q.adc_count(out_lines, tile.adc.lines_per_adc)
    if tile.bidirectional:
        adcs += q.adc_count(in_lines, tile.adc.lines_per_adc)
    n = tile.arrays
    out = {
        "array": n * tile.rows * tile.cols * a.devices_per_weight * a.cell_area_um2 * 1e-6,
        "dac": n * driven * tile.dac.area_um2 * 1e-6,
        "integrator": n * converted * tile.integrator.area_um2 * 1e-6,
        "adc": n * adcs * tile.adc.area_um2 * 1e-6,
        "update_driver": n * (tile.rows + tile.cols) * tile.update_driver.area_um2 * 1e-6,
        "vector_unit": tile.vector_unit.area_mm2,
    }
    for name, block in tile.blocks.items():
        out[f"block.{name}"] = block.count * block.area_mm2
    return out


def build_hardware(tile: TileConfig, chip: ChipConfig, io: IOSection, update: UpdateConfig,
                   source: str = "workload") -> Hardware:
    """Per-action costs of the configured tile and chip, and the sizing checks."""
    converters, notes = converters_of(io, update, tile)
    r_dev = tile.array.r_device_MOhm * 1e6
    t_pulse = tile.t_pulse_ns * 1e-9
    noc = chip.noc
    routers_share = noc.router_power_mW * 1e-3 / noc.tiles_per_router
    tile_blocks_W = sum(b.count * b.power_mW * 1e-3 for b in tile.blocks.values())
    area = tile_area_mm2(tile)
    area["router"] = noc.router_area_mm2 / noc.tiles_per_router
    tile_costs = TileCosts(
        rows=tile.rows,
        cols=tile.cols,
        arrays=tile.arrays,
        bidirectional=tile.bidirectional,
        devices_per_weight=tile.array.devices_per_weight,
        slices_per_weight=tile.array.slices_per_weight,
        t_pulse_s=t_pulse,
        directions={
            "forward": _direction(tile, converters.forward_dac_bits, converters.forward_adc_bits),
            "backward": _direction(tile, converters.backward_dac_bits, converters.backward_adc_bits),
        },
        adc_spec=tile.adc,
        integrates_charge=tile.integrator.kind == "integrator",
        integrator_supply_V=tile.integrator.supply_voltage_V,
        vector_op_J=tile.vector_unit.energy_pJ_per_op * 1e-12,
        vector_ops_per_s=tile.vector_unit.lanes * tile.vector_unit.clock_GHz * 1e9,
        slot_J=tile.update_driver.slot_energy_fJ * 1e-15,
        coincidence_extra_J=tile.array.update_voltage_V**2 / (2 * r_dev) * t_pulse,
        static_W=tile.static_power_mW * 1e-3 + tile_blocks_W + routers_share,
        wire_F_per_cell=tile.array.wire_capacitance_fF_per_um * 1e-15 * math.sqrt(tile.array.cell_area_um2),
        read_voltage_V=tile.array.read_voltage_V,
        update_voltage_V=tile.array.update_voltage_V,
        r_device_ohm=r_dev,
        program_iterations=tile.array.program_iterations,
        area_mm2=area,
    )
    m = chip.memory
    if m.energy_pJ_per_byte is None:
        memory_byte_J, how = sram_byte_J(m.node_nm, m.capacity_MB, source)
        notes.append(f"on-chip memory: {memory_byte_J * 1e12:.3g} pJ/byte, {how}.")
    else:
        memory_byte_J = m.energy_pJ_per_byte * 1e-12
    off = chip.offchip
    chip_area = {"memory": m.capacity_MB * m.area_mm2_per_MB, "noc": noc.area_mm2, "offchip": off.area_mm2}
    for name, block in chip.blocks.items():
        chip_area[f"block.{name}"] = block.count * block.area_mm2
    chip_costs = ChipCosts(
        tiles=chip.tiles,
        mesh_cols=chip.mesh.cols,
        static_W=chip.static_power_W + off.power_W + sum(b.count * b.power_mW * 1e-3 for b in chip.blocks.values()),
        bus_links=noc.links,
        bus_bytes_per_s=noc.bandwidth_GBps * 1e9,
        hop_latency_s=noc.hop_latency_ns * 1e-9,
        hop_bit_J=noc.energy_pJ_per_bit * 1e-12,
        word_bytes=noc.word_bits / 8,
        partial_sum_bytes=noc.partial_sum_bits / 8,
        memory_capacity_bytes=m.capacity_MB * 1e6,
        memory_ports=m.ports,
        memory_bytes_per_s=m.bandwidth_GBps * 1e9,
        memory_byte_J=memory_byte_J,
        offchip_bytes_per_s=off.bandwidth_GBps * 1e9,
        offchip_byte_J=off.energy_pJ_per_byte * 1e-12,
        power_gating=chip.power_gating,
        reticle_limit_mm2=chip.reticle_limit_mm2,
        max_power_density_W_per_mm2=chip.max_power_density_W_per_mm2,
        area_mm2=chip_area,
    )
    return Hardware(tile_costs, chip_costs, converters, sizing_checks(tile, converters), tuple(notes))


def sizing_checks(tile: TileConfig, converters: Converters) -> dict[str, dict]:
    """The paper's sizing rules and the ADC's jitter limit, evaluated for this tile."""
    n = max(tile.rows, tile.cols)
    r_dev = tile.array.r_device_MOhm * 1e6
    window = read_window_s(tile.dac, tile.t_int_ns * 1e-9, converters.forward_dac_bits)[0]
    snr = q.snr_margin(n, r_dev, tile.array.read_voltage_V, window, tile.array.r_max_MOhm / tile.array.r_min_MOhm)
    ir = q.ir_drop_ratio(n, tile.array.wire_resistance_ohm_per_cell, r_dev)
    bits = max(converters.forward_adc_bits, converters.backward_adc_bits)
    # The ADC converts the integrator's held output: a new value once per read window.
    signal_hz = 1.0 / (2.0 * window)
    jitter = q.jitter_snr_margin(bits, signal_hz, tile.adc.aperture_jitter_fs * 1e-15)
    return {
        "snr": {"rule": "(1/10)((b-1)/(b+1)) V sqrt(t_int/(n R_dev k_B T)) > 1", "value": snr, "ok": snr > 1},
        "ir_drop": {"rule": "n^2 R_wire / R_dev < 0.1", "value": ir, "ok": ir < 0.1},
        "adc_jitter": {
            "rule": f"1/(2 pi f sigma_jitter) >= sqrt(1.5) 2^bits at the held signal's f = 1/(2 t_int), {bits} bits",
            "value": jitter, "ok": jitter >= 1, "signal_MHz": signal_hz / 1e6,
        },
    }


def require_training_reads(tile: TileConfig, source: str) -> None:
    """Training reads W^T: a tile with converters on one side only cannot back-propagate."""
    if not tile.bidirectional:
        raise ConfigError(source, "tile.bidirectional",
                          "this tile reads its arrays in one direction only (an inference tile); training needs W^T reads.",
                          "true, or estimate inference (--mode inference)")
