"""The hardware estimate: a workload's network on the chip, against digital baselines.

``estimate(workload, ...)`` is what ``rpuarch estimate`` and ``rpuarch run`` call. It maps the
network onto tiles (the mapping training uses), simulates training windows until they reach a
steady state (SimPy), extrapolates to an epoch, charges every event's energy from the measured
(or expected) activity, checks the result against the analytical model, simulates inference,
and compares with the baselines. See docs/hardware.md for the model and every output field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..config import Workload, load_preset
from ..config.baseline import BaselineConfig
from ..errors import ConfigError, UserError
from ..files import atomic_write_text, to_jsonable
from . import quantities as q
from .analytical import bounds
from .baselines import baseline_estimate
from .components import Hardware, build_hardware
from .des import busy_by_component
from .epoch import SteadyState, steady_state
from .network import ArrayRole, NetworkSpec, check_fits, lstm_network
from .program import PHASES, Program, build_program, component_of
from .rates import ArrayRates, expected_rates, measured_rates
from .trace import chrome_trace

DEFAULT_BASELINES = ("xeon-e5-2699v4", "v100", "h100", "measured-host")


# ----------------------------------------------------------------------------- inputs
def vocab_of(workload: Workload, vocab_size: int | None, source: str) -> int:
    if vocab_size is not None:
        return int(vocab_size)
    if workload.network.vocab_size is not None:
        return workload.network.vocab_size
    raise ConfigError(
        source, "network.vocab_size",
        "a hardware estimate without training needs the vocabulary size (the softmax layer's rows);"
        " it is not read from the corpus.",
        "an integer >= 2, e.g. --set network.vocab_size=101 (Linux corpus) or 87 (War and Peace)",
    )


def train_chars_of(workload: Workload, train_chars: int | None, source: str) -> tuple[int, str]:
    """Characters of the training split: measured by training when given, else estimated from the
    dataset's size on disk without reading it (bytes taken as characters)."""
    if train_chars is not None:
        return int(train_chars), "given (measured by training)"
    from ..nn.corpus import REMOTE_CORPORA, corpus_files

    dataset = workload.dataset
    if dataset.name in REMOTE_CORPORA:
        total, how = REMOTE_CORPORA[dataset.name].size, f"nominal size of the {dataset.name} corpus"
    else:
        try:
            _, files = corpus_files(dataset)
        except UserError:  # a missing corpus: let max_chars answer, or ask for the size
            files = []
        total = sum(p.stat().st_size for p in files)
        how = f"size on disk of {len(files)} file(s), bytes as characters"
        if not files:
            if dataset.max_chars is None:
                raise ConfigError(
                    source, "dataset",
                    "cannot size the training split: the dataset is not on this machine and has no max_chars.",
                    "an existing dataset.path, dataset.max_chars, or train_chars= in the Python API",
                ) from None
            total, how = dataset.max_chars, "dataset.max_chars (the corpus is not on this machine)"
    if dataset.max_chars is not None and dataset.max_chars < total:
        total, how = dataset.max_chars, "dataset.max_chars"
    return int(total * dataset.split[0]), f"{how} x the training fraction {dataset.split[0]:g}"


def baselines_of(workload: Workload, notes: list[str]) -> tuple[list[BaselineConfig], dict[str, str]]:
    if workload.baselines:
        return list(workload.baselines), {}
    notes.append("no baselines in the workload: compared with the default set " + ", ".join(DEFAULT_BASELINES) + ".")
    out, sources = [], {}
    for name in DEFAULT_BASELINES:
        preset = load_preset("baseline", name, "rpuarch default baselines")
        out.append(BaselineConfig(preset=preset.name, **preset.sections["baseline"]))
        sources.update({f"baselines.{preset.name}.{k}": v for k, v in preset.sources.items()})
    return out, sources


def hardware_sources(workload: Workload, extra: dict[str, str]) -> dict[str, str]:
    """Where every hardware constant comes from: a preset's source for each value that is still
    the preset's (the defaults are the gokmen-vlasov-2016 tile and the rpu-2016 chip), "the
    workload" for a value given in the workload or with --set."""
    out: dict[str, str] = {}
    for kind, default in (("tile", "gokmen-vlasov-2016"), ("chip", "rpu-2016")):
        section = getattr(workload, kind)
        preset = load_preset(kind, section.preset or default, "rpuarch defaults")
        for path, source in preset.sources.items():
            given = _value_at(workload, path)
            out[path] = source if given == _value_at(preset.sections, path) else "the workload (overrides the preset)"
    out.update({k: v for k, v in workload.sources.items() if k.split(".")[0] == "baselines"})
    out.update(extra)
    return out


def _value_at(tree: Any, path: str) -> Any:
    for key in path.split("."):
        tree = tree.get(key) if isinstance(tree, dict) else getattr(tree, key, None)
    return tree


def has_counters(activity: dict[str, Any] | None) -> bool:
    if not activity:
        return False
    return any(isinstance(v, (int, float)) and v > 0 for v in activity.values()) or bool(activity.get("arrays"))


# ----------------------------------------------------------------------------- the estimate
def estimate(
    workload: Workload,
    activity: dict | None = None,
    vocab_size: int | None = None,
    measured_host_chars_per_s: float | None = None,
    trace_path: Path | None = None,
    *,
    train_chars: int | None = None,
    source: str = "workload",
    measured_host_conditions: dict | None = None,
) -> dict:
    """Hardware estimate of the workload's LSTM: ``{"hardware": {...}, "baselines": [...],
    "baselines_skipped": [...]}`` (docs/hardware.md lists every field).

    ``activity``: train.json's activity (TileActivity totals plus ``arrays.<name>``) when training
    measured it; else the workload's expected ``activity`` section is used. ``vocab_size``,
    ``train_chars``: from training when known. ``measured_host_chars_per_s``: the floating-point
    twin's speed for the measured-host baseline, ``measured_host_conditions`` how it was measured
    (load average, CPUs, statistic). ``trace_path``: write the Chrome trace there.
    ``source`` names the workload in error messages.
    """
    vocab = vocab_of(workload, vocab_size, source)
    t = workload.training
    network = lstm_network(vocab, workload.network.hidden, workload.network.layers, workload.tile.rows,
                           workload.tile.cols, t.streams, t.seq_length)
    check_fits(network, workload.chip.tiles, source)
    chars, chars_how = train_chars_of(workload, train_chars, source)
    out = estimate_network(workload, network, chars, chars_how, activity, measured_host_chars_per_s,
                           trace_path, source, measured_host_conditions)
    out["hardware"]["inputs"]["vocab_size"] = vocab
    return out


def estimate_network(
    workload: Workload,
    network: NetworkSpec,
    items_per_epoch: int,
    items_how: str,
    activity: dict | None = None,
    measured_items_per_s: float | None = None,
    trace_path: Path | None = None,
    source: str = "workload",
    measured_conditions: dict | None = None,
) -> dict:
    """The estimate of any mapped network (the LSTM of a workload, or an MLP) with the workload's
    tile, chip, converters, update and baselines."""
    started = time.perf_counter()
    check_fits(network, workload.chip.tiles, source)
    hardware = build_hardware(workload.tile, workload.chip, workload.io, workload.update, source)
    notes = list(hardware.notes)
    desired_bl = workload.update.desired_bl

    if has_counters(activity):
        rates, rate_notes = measured_rates(network, activity, workload.activity, desired_bl)
        notes += rate_notes
        activity_source = "measured"
    else:
        rates, activity_source = expected_rates(network, workload.activity, desired_bl), "workload"

    program = build_program(network, hardware, rates, training=True)
    notes += program.notes
    steady = steady_state(program, record=trace_path is not None)
    if steady.scale != 1.0:
        notes.append(f"windows of {network.steps} steps were simulated at {steady.steps_simulated} and"
                     f" {steady.steps_simulated // 2} steps and extrapolated linearly in the steps.")
    if not steady.converged:
        notes.append(f"windows did not reach a steady period in {steady.schedule.windows} simulated windows;"
                     " the last period is used.")

    per_window = network.items_per_window
    windows = max(1, items_per_epoch // per_window)
    if items_per_epoch < per_window:
        notes.append(f"the training split ({items_per_epoch} {network.unit}s) is shorter than one window"
                     f" ({per_window}); an epoch is taken as one window.")
    if workload.training.max_windows_per_epoch is not None:
        windows = min(windows, workload.training.max_windows_per_epoch)

    hw = _hardware_section(workload, network, hardware, program, steady, windows, rates, activity_source)
    hw["inputs"] = {"items_per_epoch": items_per_epoch, "items_per_epoch_source": items_how, "unit": network.unit}
    hw["inference"] = _inference(network, hardware, rates)
    hw["full_tile"] = _full_tile(workload, hardware)

    baselines, baseline_sources = baselines_of(workload, notes)
    compared, skipped = [], []
    for baseline in baselines:
        result = baseline_estimate(baseline, network, windows, hw["epoch_time_s"], hw["epoch_energy_J"],
                                   measured_items_per_s, measured_conditions=measured_conditions,
                                   rpu_inference=(hw["inference"]["latency_per_char_s"],
                                                  hw["inference"]["energy_per_char_J"]))
        if isinstance(result, str):
            skipped.append({"name": baseline.name, "reason": result})
            notes.append(f"baseline {baseline.name} skipped: {result}.")
        else:
            compared.append(result)
    hw["sources"] = hardware_sources(workload, baseline_sources)
    hw["notes"] = notes
    hw["simulation"]["wall_s"] = time.perf_counter() - started
    if trace_path is not None:
        trace = chrome_trace(steady.schedule, steady.result, f"rpuarch: {network.label}")
        atomic_write_text(trace_path, json.dumps(to_jsonable(trace), separators=(",", ":")))
    return {"hardware": hw, "baselines": compared, "baselines_skipped": skipped}


# ----------------------------------------------------------------------------- sections
def _static_W(hardware: Hardware, network: NetworkSpec) -> float:
    return hardware.tile.static_W * network.tiles + hardware.chip.static_W


def _hardware_section(workload: Workload, network: NetworkSpec, hardware: Hardware, program: Program,
                      steady: SteadyState, windows: int, rates: dict[str, ArrayRates], activity_source: str) -> dict:
    tile, chip = hardware.tile, hardware.chip
    result, schedule = steady.result, steady.schedule
    w = steady.steady_window
    period = steady.period_s
    per_window = network.items_per_window
    static_W = _static_W(hardware, network)

    scale = steady.scale  # > 1 when shortened windows were simulated and extrapolated
    window_energy = {c: {phase: j * scale for phase, j in p.items()} for c, p in result.energy.get(w, {}).items()}
    dynamic_J = sum(sum(p.values()) for p in window_energy.values())
    window_energy["static"] = {"window": static_W * period}
    window_J = dynamic_J + static_W * period
    epoch_s = steady.epoch_time_s(windows)
    epoch_J = windows * dynamic_J + static_W * epoch_s
    power_W = window_J / period
    ops_per_item = sum(work.ops for work in program.works.values())
    latency_per_item = period / per_window

    busy = {r: {phase: t * scale for phase, t in p.items()} for r, p in result.busy.get(w, {}).items()}
    used_tiles = network.tiles
    bd = bounds(schedule, 0)
    first_window = steady.window_ends[0]  # of the simulated window, comparable with its bounds
    wait0 = result.wait.get(0, {})
    busy0 = result.busy.get(0, {})
    bottleneck_busy = sum(busy0.get(bd.bottleneck, {}).values()) / program.capacities.get(bd.bottleneck, 1)

    return {
        "tiles": used_tiles,
        "chip_tiles": chip.tiles,
        "tile_shape": [tile.rows, tile.cols],
        "area_mm2": hardware.chip_area_mm2,
        "tile_area_mm2": tile.tile_area_mm2,
        "area_breakdown_mm2": {
            **{f"tiles.{k}": chip.tiles * v for k, v in tile.area_mm2.items()},
            **chip.area_mm2,
        },
        "peak_ops_per_s": chip.tiles * q.peak_ops_per_s(tile.rows, tile.cols, tile.t_int_s),
        "peak_ops_per_s_used_tiles": used_tiles * q.peak_ops_per_s(tile.rows, tile.cols, tile.t_int_s),
        "array_cycle_s": q.array_cycle_s(tile.t_int_s, hardware.converters.desired_bl, tile.t_pulse_s),
        "latency_per_char_s": latency_per_item,
        "window_time_s": period,
        "first_window_time_s": steady.first_window_s,
        "windows_per_epoch": windows,
        "items_per_epoch": windows * per_window,
        "epoch_time_s": epoch_s,
        "training_time_s": epoch_s * workload.training.epochs,
        "energy_per_char_J": window_J / per_window,
        "epoch_energy_J": epoch_J,
        "power_W": power_W,
        "static_power_W": static_W,
        "ops_per_char": ops_per_item,
        "ops_per_s": ops_per_item / latency_per_item,
        "ops_per_s_per_W": q.per(ops_per_item / latency_per_item, power_W),
        "utilization": _utilization(program, busy, period, network, chip.tiles),
        "breakdown": {
            "scope": f"one training window in steady state ({network.streams} streams x {network.steps} steps"
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
        "mapping": network.mapping.to_dict(),
        "converters": {
            "forward_dac_bits": hardware.converters.forward_dac_bits,
            "forward_adc_bits": hardware.converters.forward_adc_bits,
            "backward_dac_bits": hardware.converters.backward_dac_bits,
            "backward_adc_bits": hardware.converters.backward_adc_bits,
            "desired_bl": hardware.converters.desired_bl,
            "adc_energy_J": tile.adc_J,
            "dac_energy_J": tile.dac_J,
            "energy_scaling": "2**bits from the tile's reference resolution (Walden figure of merit)",
        },
        "checks": hardware.checks,
        "activity": {"source": activity_source, "arrays": {name: r.to_dict() for name, r in rates.items()}},
        "activation_memory": {"window_bytes": program.window_bytes, "spill_fraction": program.spill_fraction},
        "simulation": {
            "windows_simulated": schedule.windows,
            "steps_simulated": steady.steps_simulated,
            "converged": steady.converged,
            "streams_per_operation": schedule.streams_per_op,
            "operations": len(schedule.ops),
            "events": result.events,
        },
    }


def _utilization(program: Program, busy: dict[str, dict[str, float]], period: float, network: NetworkSpec,
                 chip_tiles: int) -> dict[str, float]:
    """Fraction of time each component is busy in a steady window (tile groups weighted by their
    tiles), plus the fraction of devices holding a weight and of the chip's tiles in use."""
    held: dict[str, float] = {}
    capacity: dict[str, float] = {}
    for resource, units in program.capacities.items():
        component = component_of(resource)
        weight = program.tiles_of[resource]
        held[component] = held.get(component, 0.0) + weight * sum(busy.get(resource, {}).values())
        capacity[component] = capacity.get(component, 0.0) + weight * units * period
    out = {f"{c}_time": held[c] / capacity[c] for c in ("tile", "adc", "vector_unit", "bus", "memory") if c in held}
    out["devices"] = network.mapping.utilization
    out["chip_tiles"] = network.tiles / chip_tiles
    return out


def _phase_spans(schedule, result, window: int) -> dict[str, float]:
    spans = {}
    for phase in PHASES:
        ops = [op for op in schedule.ops if op.window == window and op.phase == phase]
        if ops:
            spans[phase] = max(result.end[o.index] for o in ops) - min(result.start[o.index] for o in ops)
    return spans


def _inference(network: NetworkSpec, hardware: Hardware, rates: dict[str, ArrayRates]) -> dict:
    program = build_program(network, hardware, rates, training=False)
    steady = steady_state(program)
    w = steady.steady_window
    dynamic = steady.scale * sum(sum(p.values()) for p in steady.result.energy.get(w, {}).values())
    static = _static_W(hardware, network) * steady.period_s
    per_window = network.items_per_window
    return {
        "latency_per_char_s": steady.period_s / per_window,
        "energy_per_char_J": (dynamic + static) / per_window,
        "power_W": (dynamic + static) / steady.period_s,
    }


def _full_tile(workload: Workload, hardware: Hardware) -> dict:
    """One tile with every device in use cycling forward, backward and update back to back (the
    array cycle), at the workload's expected activity: the regime of the paper's GOps/s/W claim."""
    from ..mapping import ArrayMapping, LogicalArray

    tile = hardware.tile
    array = LogicalArray("full_tile", "dense", tile.rows, tile.cols)
    role = ArrayRole(ArrayMapping(array, tile.rows, tile.cols), source=None, recurrent=False, backward_mvm=True,
                     hidden=0, cell="sigmoid")
    network = NetworkSpec("full tile", "mlp", (role,), 1, 1, "sample")
    mean = expected_rates(network, workload.activity, workload.update.desired_bl)["full_tile"]
    program = build_program(network, hardware, {"full_tile": mean}, training=True)
    energy: dict[str, float] = {}
    for work in program.works.values():
        passes = 1 + work.repeats if work.phase == "forward" else 1
        for component, joules in work.energy(1, passes).items():
            energy[component] = energy.get(component, 0.0) + joules
    cycle = q.array_cycle_s(tile.t_int_s, mean.bl, tile.t_pulse_s) + mean.bm_repeats * tile.t_int_s
    ops = 6.0 * tile.rows * tile.cols
    power = sum(energy.values()) / cycle + tile.static_W
    chip_power = hardware.chip.tiles * power + hardware.chip.static_W
    return {
        "cycle_s": cycle,
        "ops_per_s": ops / cycle,
        "power_W": power,
        "ops_per_s_per_W": q.per(ops / cycle, power),
        "energy_per_cycle_J": energy,
        "chip_ops_per_s": hardware.chip.tiles * ops / cycle,
        "chip_power_W": chip_power,
        "chip_ops_per_s_per_W": q.per(hardware.chip.tiles * ops / cycle, chip_power),
        "assumes": "every device in use; forward, backward and update back to back, the ADCs, vector unit"
                   " and activation memory hidden under the analog cycle (their energy counted); no bus",
    }

