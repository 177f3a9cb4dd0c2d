"""The roll-up: from simulated windows and component costs to the numbers a report shows.

- ``window_section``: a steady window of training or inference (time per character, the latency
  of one step, energy, power, efficiency, utilisation, breakdowns, the analytical check);
- ``chip_and_used``: area, peak throughput, peak and static power of the whole chip and of the
  part the network uses; ``chip_warnings``: reticle and power-density limits;
- ``peak_mvm``: every array of the chip doing matrix-vector products back to back (what chips
  publish as TOPS and TOPS/W); ``training_cycle``: one full tile cycling forward, backward and
  update (the 2016 paper's figure);
- ``programming``: writing the initial weights by closed-loop program-and-verify.
"""

from __future__ import annotations

import math
from typing import Any

from ..mapping import ArrayMapping, LogicalArray
from . import quantities as q
from .analytical import bounds
from .components import Hardware
from .des import busy_by_component
from .epoch import SteadyState
from .network import ArrayRole, NetworkSpec
from .program import PHASES, Program, build_program, component_of, read_energy
from .rates import ArrayRates


def physical_tiles(arrays: int, hardware: Hardware) -> int:
    """Tiles holding ``arrays`` arrays (several per tile when the tile has several)."""
    return math.ceil(arrays / hardware.tile.arrays)


def static_W(hardware: Hardware, network: NetworkSpec) -> float:
    """Static power charged while the network runs: the used tiles' when unused tiles are
    power-gated, every tile's otherwise, plus the chip's."""
    chip = hardware.chip
    tiles = physical_tiles(network.tiles_used, hardware) if chip.power_gating else chip.tiles
    return hardware.tile.static_W * tiles + chip.static_W


def step_latency_s(program: Program, phases: tuple[str, ...]) -> float:
    """The dependent chain of one step of one stream: each phase through every array in turn
    (forward down the layers, backward up), then the slowest array's update."""
    total = 0.0
    for phase in ("forward", "backward"):
        if phase in phases:
            for (_, p), work in program.works.items():
                if p == phase:
                    total += sum(s.duration(1, 1) + s.per_pass * work.repeats for s in work.stages)
    if "update" in phases:
        total += max((sum(s.duration(1, 0) for s in w.stages) for (_, p), w in program.works.items() if p == "update"),
                     default=0.0)
    return total


# ----------------------------------------------------------------------------- a steady window
def window_section(program: Program, steady: SteadyState) -> dict[str, Any]:
    """Per character (or sample) figures of a steady window, with its breakdowns."""
    network, hardware = program.network, program.hardware
    result, schedule = steady.result, steady.schedule
    w = steady.steady_window
    period = steady.period_s
    per_window = network.items_per_window
    static = static_W(hardware, network)
    scale = steady.scale  # > 1 when shortened windows were simulated and extrapolated
    copies = network.replicas  # the simulation follows one copy; every copy spends the same energy
    window_energy = {c: {phase: j * scale * copies for phase, j in p.items()} for c, p in result.energy.get(w, {}).items()}
    dynamic_J = sum(sum(p.values()) for p in window_energy.values())
    window_energy["static"] = {"window": static * period}
    window_J = dynamic_J + static * period
    ops_per_item = sum(work.ops for work in program.works.values())
    time_per_item = period / per_window
    busy = {r: {phase: t * scale for phase, t in p.items()} for r, p in result.busy.get(w, {}).items()}
    bd = bounds(schedule, 0)
    first_window = steady.window_ends[0]  # of the simulated window, comparable with its bounds
    wait0 = result.wait.get(0, {})
    busy0 = result.busy.get(0, {})
    bottleneck_busy = sum(busy0.get(bd.bottleneck, {}).values()) / program.capacities.get(bd.bottleneck, 1)
    what = "training" if program.training else "inference"
    return {
        "time_per_char_s": time_per_item,
        "latency_s": step_latency_s(program, PHASES if program.training else ("forward",)),
        "window_time_s": period,
        "first_window_time_s": steady.first_window_s,
        "energy_per_char_J": window_J / per_window,
        "dynamic_energy_per_window_J": dynamic_J,
        "power_W": window_J / period,
        "static_power_W": static,
        "ops_per_char": ops_per_item,
        "ops_per_s": ops_per_item / time_per_item,
        "ops_per_s_per_W": q.per(ops_per_item / time_per_item, window_J / period),
        "utilization": utilization(program, busy, period),
        "breakdown": {
            "scope": f"one {what} window in steady state ({network.streams} streams x {network.steps} steps"
                     f" = {per_window} {network.unit}s)",
            "energy_J": window_energy,
            "latency_s": busy_by_component(busy),
        },
        "phase_spans_s": _phase_spans(schedule, result, w),
        "contention_wait_s": dict(sorted(result.wait.get(w, {}).items(), key=lambda kv: -kv[1])),
        "analytical": {
            "scope": f"the first simulated window alone ({steady.steps_simulated} steps; no overlap with a previous one)",
            "window_time_s": bd.makespan_s,
            "critical_path_s": bd.critical_path_s,
            "resource_bound_s": bd.resource_bound_s,
            "limited_by": bd.limited_by,
            "bottleneck": bd.bottleneck,
            "des_window_time_s": first_window,
            "des_over_analytical": first_window / bd.makespan_s - 1.0 if bd.makespan_s else 0.0,
            "queueing_s": {k: v for k, v in sorted(wait0.items(), key=lambda kv: -kv[1]) if v > 0},
            "bottleneck_idle_s": first_window - bottleneck_busy,
        },
        "simulation": {
            "windows_simulated": schedule.windows,
            "steps_simulated": steady.steps_simulated,
            "converged": steady.converged,
            "streams_per_operation": schedule.streams_per_op,
            "operations": len(schedule.ops),
            "events": result.events,
        },
    }


def utilization(program: Program, busy: dict[str, dict[str, float]], period: float) -> dict[str, float]:
    """Fraction of time each component is busy in a steady window (tile groups weighted by their
    tiles), plus the fraction of devices holding a weight and of the chip's tiles in use."""
    network, hardware = program.network, program.hardware
    held: dict[str, float] = {}
    capacity: dict[str, float] = {}
    for resource, units in program.capacities.items():
        component = component_of(resource)
        weight = program.tiles_of[resource]
        held[component] = held.get(component, 0.0) + weight * sum(busy.get(resource, {}).values())
        capacity[component] = capacity.get(component, 0.0) + weight * units * period
    out = {f"{c}_time": held[c] / capacity[c] for c in ("tile", "adc", "vector_unit", "bus", "memory", "offchip") if c in held}
    out["devices"] = network.mapping.utilization
    out["chip_tiles"] = physical_tiles(network.tiles_used, hardware) / hardware.chip.tiles
    return out


def _phase_spans(schedule, result, window: int) -> dict[str, float]:
    spans = {}
    for phase in PHASES:
        ops = [op for op in schedule.ops if op.window == window and op.phase == phase]
        if ops:
            spans[phase] = max(result.end[o.index] for o in ops) - min(result.start[o.index] for o in ops)
    return spans


# ----------------------------------------------------------------------------- the chip at full use
def _full_array(hardware: Hardware) -> ArrayRole:
    tile = hardware.tile
    array = LogicalArray("full_tile", "dense", tile.rows, tile.cols)
    return ArrayRole(ArrayMapping(array, tile.rows, tile.cols), source=None, recurrent=False, backward_mvm=True,
                     hidden=0, cell="sigmoid")


def peak_mvm(hardware: Hardware, input_fraction: float) -> dict[str, Any]:
    """Every array of every tile doing forward matrix-vector products back to back, every device
    holding a weight, inputs at ``input_fraction`` of full scale: the regime of a chip's published
    TOPS and TOPS/W. A read cycle and the previous cycle's conversions overlap (the integrators hold
    their outputs), so a product takes reads x max(read cycle, conversion)."""
    tile, chip = hardware.tile, hardware.chip
    d = tile.directions["forward"]
    role = _full_array(hardware)
    rates = ArrayRates(0.0, 1.0, 0.0, 0.0, 0.0, None, input_fraction)
    energy = read_energy(tile, role, rates, "forward")
    conversions = d.reads * tile.slices_per_weight
    if conversions > 1:  # shift-and-add of the cycles and slices in the vector unit
        energy["vector_unit"] = tile.rows * conversions * tile.vector_op_J
    mvm_s = d.reads * max(d.window_s, tile.adc_s(tile.rows * tile.slices_per_weight, "forward"))
    ops = 2.0 * tile.rows * tile.cols
    arrays = chip.tiles * tile.arrays
    dynamic_W = arrays * sum(energy.values()) / mvm_s
    tile_W = tile.arrays * sum(energy.values()) / mvm_s + tile.static_W
    power = dynamic_W + chip.tiles * tile.static_W + chip.static_W
    area = hardware.chip_area_mm2
    return {
        "mvm_s": mvm_s,
        "ops_per_mvm": ops,
        "energy_per_mvm_J": energy,
        "tile_power_W": tile_W,
        "tile_area_mm2": tile.tile_area_mm2,
        "ops_per_s": arrays * ops / mvm_s,
        "power_W": power,
        "area_mm2": area,
        "ops_per_s_per_W": arrays * ops / mvm_s / power,
        "ops_per_s_per_mm2": arrays * ops / mvm_s / area,
        "assumes": f"every array reading back to back with every device in use, inputs at {input_fraction:g} of full"
                   " scale, the tiles' and chip's static power and blocks on",
    }


def training_cycle(hardware: Hardware, rates: ArrayRates) -> dict[str, Any]:
    """One tile with every device in use cycling forward, backward and update back to back (the
    array cycle), at the expected activity: the regime of the 2016 paper's GOps/s/W claim."""
    tile, chip = hardware.tile, hardware.chip
    role = _full_array(hardware)
    network = NetworkSpec("full tile", "mlp", (role,), 1, 1, "sample")
    program = build_program(network, hardware, {role.name: rates}, training=True)
    energy: dict[str, float] = {}
    for work in program.works.values():
        passes = 1 + work.repeats if work.phase == "forward" else 1
        for component, joules in work.energy(1, passes).items():
            energy[component] = energy.get(component, 0.0) + joules
    fwd, bwd = tile.directions["forward"], tile.directions["backward"]
    cycle = ((1 + rates.bm_repeats) * fwd.reads * fwd.window_s + bwd.reads * bwd.window_s
             + q.update_time_s(rates.bl, tile.t_pulse_s))
    ops = 6.0 * tile.rows * tile.cols * tile.arrays
    power = tile.arrays * sum(energy.values()) / cycle + tile.static_W
    chip_power = chip.tiles * power + chip.static_W
    return {
        "cycle_s": cycle,
        "ops_per_s": ops / cycle,
        "power_W": power,
        "ops_per_s_per_W": q.per(ops / cycle, power),
        "energy_per_cycle_J": energy,
        "chip_ops_per_s": chip.tiles * ops / cycle,
        "chip_power_W": chip_power,
        "chip_ops_per_s_per_W": q.per(chip.tiles * ops / cycle, chip_power),
        "assumes": "every device in use; forward, backward and update back to back, the ADCs, vector unit"
                   " and activation memory hidden under the analog cycle (their energy counted); no transfers",
    }


def chip_and_used(hardware: Hardware, network: NetworkSpec, full_use_W: float) -> tuple[dict, dict]:
    """Area, peak throughput, peak and static power of the whole chip and of the part the network
    uses (its tiles and the chip-level parts). Peak power: every tile at ``full_use_W`` (with its
    static power)."""
    tile, chip = hardware.tile, hardware.chip
    shared_area = sum(chip.area_mm2.values())
    d = tile.directions["forward"]
    per_tile_ops = tile.arrays * 2.0 * tile.rows * tile.cols / (d.reads * d.window_s)

    def part(tiles: int, gated: bool) -> dict:
        powered = tiles if gated else chip.tiles
        return {
            "tiles": tiles,
            "area_mm2": tiles * tile.tile_area_mm2 + shared_area,
            "peak_ops_per_s": tiles * per_tile_ops,
            "peak_power_W": tiles * (full_use_W - tile.static_W) + powered * tile.static_W + chip.static_W,
            "static_power_W": powered * tile.static_W + chip.static_W,
        }

    return part(chip.tiles, True), part(physical_tiles(network.tiles_used, hardware), chip.power_gating)


def chip_warnings(hardware: Hardware, whole: dict) -> list[str]:
    chip = hardware.chip
    out = []
    if whole["area_mm2"] > chip.reticle_limit_mm2:
        out.append(f"the chip's {whole['area_mm2']:,.0f} mm² exceed the {chip.reticle_limit_mm2:,.0f} mm² a lithography"
                   " field exposes (chip.reticle_limit_mm2): it cannot be made as one die.")
    density = whole["peak_power_W"] / whole["area_mm2"]
    if density > chip.max_power_density_W_per_mm2:
        out.append(f"the chip's peak power density {density:.3g} W/mm² (peak {whole['peak_power_W']:.3g} W on"
                   f" {whole['area_mm2']:,.0f} mm²) exceeds the {chip.max_power_density_W_per_mm2:g} W/mm² a package"
                   " can cool (chip.max_power_density_W_per_mm2).")
    return out


# ----------------------------------------------------------------------------- weight programming
def programming(hardware: Hardware, network: NetworkSpec) -> dict[str, Any]:
    """Writing the initial weights by closed-loop program-and-verify, every array at once.

    One iteration on one column of an array: a programming pulse on the column (all its devices
    at once, each row at its own amplitude or polarity, at the update voltage for t_pulse), then a
    verify read of the column (the column driven at full scale, every row integrated and
    converted). ``tile.array.program_iterations`` iterations per device; columns one after another.
    """
    tile = hardware.tile
    d = tile.directions["forward"]
    time_s, energy_J = 0.0, 0.0
    for role in network.roles:
        for block in role.mapping.blocks:
            rows, cols = block.shape
            devices = rows * tile.devices_per_weight
            pulse_J = devices * (tile.update_voltage_V**2 / tile.r_device_ohm * tile.t_pulse_s)
            verify_J = (d.dac_J + devices * d.device_J + tile.line_charge_J(tile.rows, tile.read_voltage_V)
                        + rows * tile.slices_per_weight * (tile.integrator_J(1, 1.0) + d.adc_J))
            verify_s = d.window_s + tile.adc_s(rows * tile.slices_per_weight, "forward")
            iterations = tile.program_iterations * cols
            time_s = max(time_s, iterations * (tile.t_pulse_s + verify_s))
            energy_J += iterations * (pulse_J + verify_J)
    copies = network.replicas
    return {
        "time_s": time_s,
        "energy_J": energy_J * copies,
        "iterations_per_device": tile.program_iterations,
        "weights": network.mapping.weights * copies,
        "scheme": "program-and-verify, one column of every array at a time (all arrays in parallel): a pulse at the"
                  " update voltage, then a verify read of the column through its integrators and ADCs",
    }
