"""The chip's components: what one event of each costs in time, energy and area.

Built from the tile and chip sections of a workload and the converter bits of its ``io`` and
``update`` sections, and checked against physical limits (ADC speed for its bits, the paper's
sizing rules). Every event of the simulation charges one of these components.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from ..config.hardware import ChipConfig, TileConfig
from ..config.io import IOSection
from ..config.update import UpdateConfig
from ..errors import ConfigError
from . import quantities as q

# Energy components of the breakdown; the first six are the tile, then the chip.
ENERGY_COMPONENTS = (
    "array_read", "array_update", "dac", "integrator", "adc", "pulse_generation",
    "vector_unit", "memory", "offchip", "bus", "static",
)


@dataclass(frozen=True)
class Converters:
    """Resolutions the cost model charges, taken from the workload's io and update sections."""

    forward_dac_bits: int
    forward_adc_bits: int
    backward_dac_bits: int
    backward_adc_bits: int
    desired_bl: int


@dataclass(frozen=True)
class TileCosts:
    """Per-event time and energy of one tile, in seconds and joules."""

    rows: int
    cols: int
    t_int_s: float
    t_pulse_s: float
    adc_sample_rate: float
    lines_per_adc: int
    dac_J: dict[str, float]  # per conversion, by direction (forward / backward)
    adc_J: dict[str, float]  # per sample, by direction
    device_read_J: float  # one device conducting at full scale for t_int
    integrator_bias_J: float  # one line's integrator biased for t_int
    integrator_supply_V: float  # the integrator supplies the line's charge from this rail
    vector_op_J: float
    vector_ops_per_s: float
    slot_J: float  # one line, one pulse slot of the stochastic translation
    coincidence_extra_J: float  # a device between two coinciding pulses, beyond its two half-selects
    static_W: float
    wire_F_per_cell: float
    read_voltage_V: float
    update_voltage_V: float
    r_device_ohm: float
    area_mm2: dict[str, float] = field(default_factory=dict)

    def integrator_J(self, devices_on_line: int, input_fraction: float) -> float:
        """One integrator for one pass: its bias for t_int, and the charge its line's devices deliver
        (each at the mean input, V_read * input_fraction / R_dev, for t_int) from its supply."""
        charge = devices_on_line * self.read_voltage_V * input_fraction / self.r_device_ohm * self.t_int_s
        return self.integrator_bias_J + charge * self.integrator_supply_V

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
    static_W: float
    bus_links: int
    bus_bytes_per_s: float
    bus_latency_s: float
    bus_bit_J: float
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

    def bus_cost(self, words: float, word_bytes: float | None = None) -> tuple[float, float]:
        """(seconds, joules) of one transfer of ``words`` words (of ``word_bytes``, default the bus word)."""
        bits = words * (self.word_bytes if word_bytes is None else word_bytes) * 8
        return self.bus_latency_s + bits / 8 / self.bus_bytes_per_s, bits * self.bus_bit_J


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


def build_hardware(tile: TileConfig, chip: ChipConfig, io: IOSection, update: UpdateConfig,
                   source: str = "workload") -> Hardware:
    """Per-event costs of the configured tile and chip, with the sizing checks that failed as warnings."""
    converters, notes = converters_of(io, update, tile)
    t_int = tile.t_int_ns * 1e-9
    t_pulse = tile.t_pulse_ns * 1e-9
    r_dev = tile.array.r_device_MOhm * 1e6
    v_read = tile.array.read_voltage_V
    pitch_um = math.sqrt(tile.array.cell_area_um2)
    lines = tile.rows + tile.cols
    adcs = q.adc_count(tile.rows, tile.adc.lines_per_adc) + q.adc_count(tile.cols, tile.adc.lines_per_adc)
    area_mm2 = {
        "array": tile.rows * tile.cols * tile.array.cell_area_um2 * 1e-6,
        "dac": lines * tile.dac.area_um2 * 1e-6,
        "integrator": lines * tile.integrator.area_um2 * 1e-6,
        "adc": adcs * tile.adc.area_um2 * 1e-6,
        "update_driver": lines * tile.update_driver.area_um2 * 1e-6,
        "vector_unit": tile.vector_unit.area_mm2,
    }
    tile_costs = TileCosts(
        rows=tile.rows,
        cols=tile.cols,
        t_int_s=t_int,
        t_pulse_s=t_pulse,
        adc_sample_rate=tile.adc.sample_rate_MSps * 1e6,
        lines_per_adc=tile.adc.lines_per_adc,
        dac_J={
            "forward": q.converter_energy_J(tile.dac.energy_pJ * 1e-12, tile.dac.ref_bits, converters.forward_dac_bits),
            "backward": q.converter_energy_J(tile.dac.energy_pJ * 1e-12, tile.dac.ref_bits, converters.backward_dac_bits),
        },
        adc_J={
            "forward": q.converter_energy_J(tile.adc.energy_pJ * 1e-12, tile.adc.ref_bits, converters.forward_adc_bits),
            "backward": q.converter_energy_J(tile.adc.energy_pJ * 1e-12, tile.adc.ref_bits, converters.backward_adc_bits),
        },
        device_read_J=v_read**2 / r_dev * t_int,
        integrator_bias_J=tile.integrator.bias_power_uW * 1e-6 * t_int,
        integrator_supply_V=tile.integrator.supply_voltage_V,
        vector_op_J=tile.vector_unit.energy_pJ_per_op * 1e-12,
        vector_ops_per_s=tile.vector_unit.lanes * tile.vector_unit.clock_GHz * 1e9,
        slot_J=tile.update_driver.slot_energy_fJ * 1e-15,
        coincidence_extra_J=tile.array.update_voltage_V**2 / (2 * r_dev) * t_pulse,
        static_W=tile.static_power_mW * 1e-3,
        wire_F_per_cell=tile.array.wire_capacitance_fF_per_um * 1e-15 * pitch_um,
        read_voltage_V=v_read,
        update_voltage_V=tile.array.update_voltage_V,
        r_device_ohm=r_dev,
        area_mm2=area_mm2,
    )
    m = chip.memory
    if m.energy_pJ_per_byte is None:
        memory_byte_J, how = sram_byte_J(m.node_nm, m.capacity_MB, source)
        notes.append(f"on-chip memory: {memory_byte_J * 1e12:.3g} pJ/byte, {how}.")
    else:
        memory_byte_J = m.energy_pJ_per_byte * 1e-12
    chip_costs = ChipCosts(
        tiles=chip.tiles,
        static_W=chip.static_power_W,
        bus_links=chip.bus.links,
        bus_bytes_per_s=chip.bus.bandwidth_GBps * 1e9,
        bus_latency_s=chip.bus.hop_latency_ns * 1e-9,
        bus_bit_J=chip.bus.energy_pJ_per_bit * 1e-12,
        word_bytes=chip.bus.word_bits / 8,
        partial_sum_bytes=chip.bus.partial_sum_bits / 8,
        memory_capacity_bytes=m.capacity_MB * 1e6,
        memory_ports=m.ports,
        memory_bytes_per_s=m.bandwidth_GBps * 1e9,
        memory_byte_J=memory_byte_J,
        offchip_bytes_per_s=m.offchip_bandwidth_GBps * 1e9,
        offchip_byte_J=m.offchip_energy_pJ_per_byte * 1e-12,
        power_gating=chip.power_gating,
        reticle_limit_mm2=chip.reticle_limit_mm2,
        max_power_density_W_per_mm2=chip.max_power_density_W_per_mm2,
        area_mm2={"memory": m.capacity_MB * m.area_mm2_per_MB, "bus_and_io": chip.bus.area_mm2},
    )
    return Hardware(tile_costs, chip_costs, converters, sizing_checks(tile, converters), tuple(notes))


def sizing_checks(tile: TileConfig, converters: Converters) -> dict[str, dict]:
    """The paper's sizing rules and the ADC's jitter limit, evaluated for this tile."""
    n = max(tile.rows, tile.cols)
    r_dev = tile.array.r_device_MOhm * 1e6
    snr = q.snr_margin(n, r_dev, tile.array.read_voltage_V, tile.t_int_ns * 1e-9,
                       tile.array.r_max_MOhm / tile.array.r_min_MOhm)
    ir = q.ir_drop_ratio(n, tile.array.wire_resistance_ohm_per_cell, r_dev)
    bits = max(converters.forward_adc_bits, converters.backward_adc_bits)
    # The ADC converts the integrator's held output: a new value once per integration.
    signal_hz = 1.0 / (2.0 * tile.t_int_ns * 1e-9)
    jitter = q.jitter_snr_margin(bits, signal_hz, tile.adc.aperture_jitter_fs * 1e-15)
    return {
        "snr": {"rule": "(1/10)((b-1)/(b+1)) V sqrt(t_int/(n R_dev k_B T)) > 1", "value": snr, "ok": snr > 1},
        "ir_drop": {"rule": "n^2 R_wire / R_dev < 0.1", "value": ir, "ok": ir < 0.1},
        "adc_jitter": {
            "rule": f"1/(2 pi f sigma_jitter) >= sqrt(1.5) 2^bits at the held signal's f = 1/(2 t_int), {bits} bits",
            "value": jitter, "ok": jitter >= 1, "signal_MHz": signal_hz / 1e6,
        },
    }


@functools.cache
def _sram_table() -> dict[int, list[tuple[float, float]]]:
    """node (nm) -> [(capacity in bytes, joules per byte)] of models/components/sram/cacti-7.yaml."""
    from ..config.loader import models_dir, read_yaml

    data = read_yaml(models_dir() / "components" / "sram" / "cacti-7.yaml", "component")
    per_byte = 8 / data["access_bits"]
    return {int(node): sorted((float(kb) * 1024, pj * 1e-12 * per_byte) for kb, pj in table.items())
            for node, table in data["energy_pJ_per_access"].items()}


def sram_byte_J(node_nm: int, capacity_MB: float, source: str = "workload") -> tuple[float, str]:
    """Energy per byte of an SRAM of ``capacity_MB`` at ``node_nm`` from the CACTI table, and how it
    was found (interpolated log-log, or extrapolated past the largest capacity)."""
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