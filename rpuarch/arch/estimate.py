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
from ..config.loader import resolve
from ..errors import ConfigError, UserError
from ..files import atomic_write_text, to_jsonable
from . import quantities as q
from . import rollup
from .baselines import baseline_estimate
from .components import build_hardware, require_training_reads
from .epoch import steady_state
from .network import NetworkSpec, check_fits, lstm_network, replicated
from .program import build_program
from .rates import expected_activity, expected_rates, measured_rates
from .trace import chrome_trace

DEFAULT_BASELINES = ("xeon-e5-2699v4", "v100", "h100", "measured-host")


# ----------------------------------------------------------------------------- inputs
def vocab_and_chars(workload: Workload, vocab_size: int | None, train_chars: int | None,
                    source: str) -> tuple[int, int, str]:
    """(vocabulary size, characters of the training split, how they were found).

    Given (by training) they are used as they are. Otherwise the vocabulary is
    ``network.vocab_size`` when the workload gives one, else read from the corpus as training reads
    it (the characters of the training split; that also gives the split's exact size).
    """
    if vocab_size is None and workload.network.vocab_size is None:
        from ..nn.corpus import read_corpus
        from ..nn.data import split_corpus

        try:
            data = split_corpus(read_corpus(workload.dataset), workload.dataset)
        except UserError as error:
            raise ConfigError(
                source, "network.vocab_size",
                f"the estimate needs the vocabulary size (the softmax layer's rows) and the corpus cannot be read: {error}",
                "a readable dataset, or an integer >= 2, e.g. --set network.vocab_size=101 (Linux corpus) or 87 (War and Peace)",
            ) from None
        chars = int(data.splits["train"].size)
        if train_chars is not None:
            chars = int(train_chars)
        return data.vocab.size, chars, "the corpus, read as training reads it (vocabulary and training split)"
    vocab = int(vocab_size) if vocab_size is not None else int(workload.network.vocab_size)
    chars, how = train_chars_of(workload, train_chars, source)
    return vocab, chars, how


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
    """Where every hardware constant comes from: its preset's (or component file's) source for each
    value that is still the preset's (the defaults are the gokmen-vlasov-2016 tile and the rpu-2016
    chip), "the workload" for a value given in the workload or with --set."""
    presets = {kind: {"preset": getattr(workload, kind).preset or default}
               for kind, default in (("tile", "gokmen-vlasov-2016"), ("chip", "rpu-2016"))}
    reference, _ = resolve(presets, "rpuarch presets")
    out: dict[str, str] = {}
    for path, source in reference.sources.items():
        if path.split(".")[0] in presets:
            same = _value_at(workload, path) == _value_at(reference, path)
            out[path] = source if same else "the workload (overrides the preset)"
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
MODES = ("training", "inference")


def estimate(
    workload: Workload,
    activity: dict | None = None,
    vocab_size: int | None = None,
    measured_host_chars_per_s: float | None = None,
    trace_path: Path | None = None,
    *,
    train_chars: int | None = None,
    source: str = "workload",
    mode: str = "training",
    measured_host_conditions: dict | None = None,
) -> dict:
    """Hardware estimate of the workload's LSTM: ``{"hardware": {...}, "baselines": [...],
    "baselines_skipped": [...]}`` (docs/hardware.md lists every field).

    ``activity``: train.json's activity (TileActivity totals plus ``arrays.<name>``) when training
    measured it; else the workload's expected ``activity`` section is used. ``vocab_size``,
    ``train_chars``: from training when known; else ``network.vocab_size`` (with the split's size
    estimated from the dataset's size on disk), else both read from the corpus.
    ``measured_host_chars_per_s``: the floating-point twin's speed for the measured-host baseline,
    ``measured_host_conditions`` how it was measured (load average, CPUs, statistic).
    ``trace_path``: write the Chrome trace there. ``source`` names the workload in error messages.
    ``mode``: ``training`` (the headline is training, with inference beside it) or ``inference``
    (the network's forward pass alone, its state carried from window to window).
    """
    vocab, chars, chars_how = vocab_and_chars(workload, vocab_size, train_chars, source)
    t = workload.training
    network = lstm_network(vocab, workload.network.hidden, workload.network.layers, workload.tile.rows,
                           workload.tile.cols, t.streams, t.seq_length, workload.network.bias, workload.network.arrays)
    out = estimate_network(workload, network, chars, chars_how, activity, measured_host_chars_per_s,
                           trace_path, source, measured_host_conditions, mode=mode)
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
    *,
    mode: str = "training",
) -> dict:
    """The estimate of any mapped network (the LSTM of a workload, or an MLP) with the workload's
    tile, chip, converters, update and baselines."""
    started = time.perf_counter()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    training = mode == "training"
    if training:
        require_training_reads(workload.tile, source)
    capacity = workload.chip.tiles * workload.tile.arrays
    check_fits(network, capacity, source, workload.tile.arrays)
    network = replicated(network, capacity, workload.chip.replicate)
    hardware = build_hardware(workload.tile, workload.chip, workload.io, workload.update, source)
    notes = list(hardware.notes)
    if network.replicas > 1:
        notes.append(f"{network.replicas} copies of the network on {rollup.physical_tiles(network.tiles_used, hardware)}"
                     f" of the {workload.chip.tiles} tiles (chip.replicate), each serving up to"
                     f" {network.streams_per_replica} of the {network.streams} streams;"
                     + (" in training every copy applies every stream's updates." if training else ""))
    desired_bl = workload.update.desired_bl
    if has_counters(activity):
        rates, rate_notes = measured_rates(network, activity, workload.activity, desired_bl)
        notes += rate_notes
        activity_source = "measured"
    else:
        rates, activity_source = expected_rates(network, workload.activity, desired_bl), "workload"
    mean = expected_activity(workload.activity, desired_bl)

    program = build_program(network, hardware, rates, training=training)
    notes += program.notes
    steady = steady_state(program, record=trace_path is not None)
    if steady.scale != 1.0:
        notes.append(f"windows of {network.steps} steps were simulated at {steady.steps_simulated} and"
                     f" {steady.steps_simulated // 2} steps and extrapolated linearly in the steps.")
    if not steady.converged:
        notes.append(f"windows did not reach a steady period in {steady.schedule.windows} simulated windows;"
                     " the last period is used.")

    tile, chip = hardware.tile, hardware.chip
    hw: dict[str, Any] = {
        "mode": mode,
        "tiles": rollup.physical_tiles(network.tiles_used, hardware),
        "chip_tiles": chip.tiles,
        "arrays": network.tiles_used,
        "replicas": network.replicas,
        "power_gating": chip.power_gating,
        "tile_shape": [tile.rows, tile.cols],
        "area_mm2": hardware.chip_area_mm2,
        "tile_area_mm2": tile.tile_area_mm2,
        "area_breakdown_mm2": {**{f"tiles.{k}": chip.tiles * v for k, v in tile.area_mm2.items()}, **chip.area_mm2},
        "peak_ops_per_s": chip.tiles * tile.arrays * 2.0 * tile.rows * tile.cols
        / (tile.directions["forward"].reads * tile.directions["forward"].window_s),
        **rollup.window_section(program, steady),
    }
    per_window = network.items_per_window
    windows = max(1, items_per_epoch // per_window)
    if items_per_epoch < per_window:
        notes.append(f"the training split ({items_per_epoch} {network.unit}s) is shorter than one window"
                     f" ({per_window}); an epoch is taken as one window.")
    if workload.training.max_windows_per_epoch is not None:
        windows = min(windows, workload.training.max_windows_per_epoch)
    static = hw["static_power_W"]
    epoch_s = steady.epoch_time_s(windows)
    hw.update({
        "windows_per_epoch": windows,
        "items_per_epoch": windows * per_window,
        "epoch_time_s": epoch_s,
        "epoch_energy_J": windows * hw["dynamic_energy_per_window_J"] + static * epoch_s,
    })
    hw["peak_mvm"] = rollup.peak_mvm(hardware, mean.input_fraction)
    full_use_W = hw["peak_mvm"]["tile_power_W"]  # a tile at full use: reading back to back (inference) ...
    if training:
        fwd = tile.directions["forward"]
        hw["array_cycle_s"] = q.array_cycle_s(fwd.reads * fwd.window_s, hardware.converters.desired_bl, tile.t_pulse_s)
        hw["training_time_s"] = epoch_s * workload.training.epochs
        hw["inference"] = rollup.window_section(*_inference(network, hardware, rates))
        hw["full_tile"] = rollup.training_cycle(hardware, mean)
        full_use_W = hw["full_tile"]["power_W"]  # ... or cycling forward, backward and update (training)
    hw["chip"], hw["used"] = rollup.chip_and_used(hardware, network, full_use_W)
    hw["programming"] = rollup.programming(hardware, network)
    hw["mapping"] = network.mapping.to_dict()
    hw["converters"] = {
        "forward_dac_bits": hardware.converters.forward_dac_bits,
        "forward_adc_bits": hardware.converters.forward_adc_bits,
        "backward_dac_bits": hardware.converters.backward_dac_bits,
        "backward_adc_bits": hardware.converters.backward_adc_bits,
        "desired_bl": hardware.converters.desired_bl,
        "adc_energy_J": {d: c.adc_J for d, c in tile.directions.items()},
        "dac_energy_J": {d: c.dac_J for d, c in tile.directions.items()},
        "read_window_s": {d: c.window_s for d, c in tile.directions.items()},
        "reads_per_product": {d: c.reads for d, c in tile.directions.items()},
        "energy_scaling": "2**bits from the converter's reference resolution (Walden figure of merit)",
    }
    hw["checks"] = hardware.checks
    hw["activity"] = {"source": activity_source, "arrays": {name: r.to_dict() for name, r in rates.items()}}
    hw["activation_memory"] = {"window_bytes": program.window_bytes, "spill_fraction": program.spill_fraction}
    hw["inputs"] = {"items_per_epoch": items_per_epoch, "items_per_epoch_source": items_how, "unit": network.unit}

    compared, skipped = [], []
    baselines, baseline_sources = baselines_of(workload, notes)
    inference = hw if not training else hw["inference"]
    for baseline in baselines:
        result = baseline_estimate(baseline, network, windows, hw["epoch_time_s"], hw["epoch_energy_J"],
                                   measured_items_per_s, measured_conditions=measured_conditions,
                                   rpu_inference=(inference["time_per_char_s"], inference["energy_per_char_J"]))
        if isinstance(result, str):
            skipped.append({"name": baseline.name, "reason": result})
            notes.append(f"baseline {baseline.name} skipped: {result}.")
        elif training:
            compared.append(result)
        elif "inference" in result:  # the training figures compare with a training epoch the chip did not run
            compared.append({k: result[k] for k in ("name", "kind", "preset", "inference")})
    hw["sources"] = hardware_sources(workload, baseline_sources)
    hw["notes"] = notes
    hw["warnings"] = rollup.chip_warnings(hardware, hw["chip"])
    hw["simulation"]["wall_s"] = time.perf_counter() - started
    if trace_path is not None:
        trace = chrome_trace(steady.schedule, steady.result, f"rpuarch: {network.label} ({mode})")
        atomic_write_text(trace_path, json.dumps(to_jsonable(trace), separators=(",", ":")))
    return {"hardware": hw, "baselines": compared, "baselines_skipped": skipped}


def _inference(network: NetworkSpec, hardware, rates):
    program = build_program(network, hardware, rates, training=False)
    return program, steady_state(program)
