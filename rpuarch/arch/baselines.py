"""Digital baselines: the same training (or inference) on a CPU or GPU, kernel by kernel.

A window is the kernels a cuDNN-style implementation launches (Appleyard, Kocisky & Blunsom,
"Optimizing performance of recurrent neural networks on GPUs", arXiv:1604.01946, the design of
cuDNN's RNNs): per LSTM layer one input GEMM over all steps of the window, then per step one
recurrent GEMM for the four gates and one element-wise cell kernel; backward the same in reverse,
the weight-gradient GEMM over the window, one SGD kernel per matrix. The softmax layer works on
the whole window at once. Stacked layers may run as a wavefront (``overlap_layers``).

Each kernel costs ``launch_overhead_us`` plus a roofline: the largest of its FLOPs at the
sustained peak of its precision, its main-memory bytes at the sustained bandwidth, and all its
bytes at the cache bandwidth. Weights and their gradients that fit in the last-level cache are
not re-read from main memory on each step or launch; activations too when everything fits.
Energy: idle power over the whole time plus (full-load - idle) power over the time the work would
take at the datasheet peak. Each baseline is also reported at its throughput-best batch and for
inference. ``measured-host`` needs no model: the floating-point twin's measured speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..config.baseline import PRECISION_BYTES, BaselineConfig
from .network import ArrayRole, NetworkSpec
from .quantities import per

PHASES = ("forward", "backward_data", "backward_weights", "update")
BOUNDS = ("launch", "compute", "memory", "cache")
# The largest batch tried for the throughput-best batch (powers of two from 1).
MAX_BATCH = 2**16


@dataclass(frozen=True)
class Kernel:
    """One kernel of a window: ``launches`` times (per step for the recurrent ones)."""

    name: str
    phase: str
    flops: float
    weight_bytes: float  # weights and weight gradients it reads or writes
    data_bytes: float  # activations and errors it reads or writes
    tensor: bool  # a matrix product (at the precision's peak); else element-wise (at the fp32 peak)
    launches: int = 1
    layer: int | None = None  # the LSTM layer of a per-step kernel (the dependent chain); None otherwise


def gemm(name: str, phase: str, m: int, k: int, n: int, weights: str, value_bytes: int, launches: int = 1,
         layer: int | None = None) -> Kernel:
    """C[m, n] = A[m, k] B[k, n], each operand read once and the result written once; ``weights``
    names the operand that is a weight matrix or its gradient ("A", "B" or "C")."""
    sizes = {"A": m * k, "B": k * n, "C": m * n}
    w = sizes[weights]
    return Kernel(name, phase, 2.0 * m * k * n, value_bytes * w, value_bytes * (sum(sizes.values()) - w), True,
                  launches, layer)


def elementwise(name: str, phase: str, elements: int, flops_per_element: float, words_per_element: float,
                value_bytes: int, launches: int = 1, layer: int | None = None, weights: bool = False) -> Kernel:
    moved = value_bytes * elements * words_per_element
    return Kernel(name, phase, elements * flops_per_element, moved if weights else 0.0, 0.0 if weights else moved,
                  False, launches, layer)


def lstm_layer_kernels(name: str, hidden: int, inputs: int, streams: int, steps: int, value_bytes: int,
                       layer: int, *, input_gemm: bool = True, input_gradient: bool = True) -> list[Kernel]:
    """The kernels of one LSTM layer over a window. Without ``input_gemm`` the input is added to the
    gates directly (cuDNN's skip-input mode, DeepBench's benchmark); ``input_gradient``: the error
    is propagated to the layer below."""
    b, t, h, x, v = streams, steps, hidden, inputs, value_bytes
    rows = (x + 1 if input_gemm else 0) + h  # of the transposed weight matrix: input, bias, recurrent
    out = []
    if input_gemm:
        out.append(gemm(f"{name} input GEMM", "forward", b * t, x + 1, 4 * h, "B", v))
    out += [
        gemm(f"{name} recurrent GEMM", "forward", b, h, 4 * h, "B", v, t, layer),
        elementwise(f"{name} cell", "forward", b * h, 9, 8, v, t, layer),
        elementwise(f"{name} cell backward", "backward_data", b * h, 16, 10, v, t, layer),
        gemm(f"{name} recurrent backward GEMM", "backward_data", b, 4 * h, h, "B", v, t, layer),
    ]
    if input_gradient:
        out.append(gemm(f"{name} input-gradient GEMM", "backward_data", b * t, 4 * h, x, "B", v))
    out += [
        gemm(f"{name} weight-gradient GEMM", "backward_weights", rows, b * t, 4 * h, "C", v),
        elementwise(f"{name} SGD update", "update", rows * 4 * h, 2, 3, v, weights=True),
    ]
    return out


def _dense_kernels(role: ArrayRole, n: int, v: int) -> list[Kernel]:
    rows, cols = role.rows, role.cols
    out = [
        gemm(f"{role.name} forward GEMM", "forward", n, cols, rows, "B", v),
        elementwise(f"{role.name} {role.cell}", "forward", n * rows, 5 if role.cell == "softmax" else 1, 2, v),
        elementwise(f"{role.name} delta", "backward_data", n * rows, 2, 3, v),
        gemm(f"{role.name} weight-gradient GEMM", "backward_weights", cols, n, rows, "C", v),
        elementwise(f"{role.name} SGD update", "update", rows * cols, 2, 3, v, weights=True),
    ]
    if role.backward_mvm:
        out.append(gemm(f"{role.name} input-gradient GEMM", "backward_data", n, rows, cols - 1, "B", v))
    return out


def window_kernels(network: NetworkSpec, value_bytes: int = 4) -> list[Kernel]:
    out: list[Kernel] = []
    layer = 0
    for role in network.roles:
        if role.cell == "lstm":
            out += lstm_layer_kernels(role.name, role.hidden, role.cols - role.hidden - 1, network.streams,
                                      network.steps, value_bytes, layer, input_gradient=role.source is not None)
            layer += 1
        else:
            out += _dense_kernels(role, network.streams * network.steps, value_bytes)
    return out


# ----------------------------------------------------------------------------- memory
@dataclass(frozen=True)
class Residency:
    """What stays in the last-level cache between kernels (the rest comes from main memory)."""

    weights: bool
    data: bool
    working_set_bytes: float  # weights (with gradients when training) and the activations kept

    @property
    def label(self) -> str:
        return "weights and activations" if self.data else "weights" if self.weights else "nothing"


def activation_bytes(network: NetworkSpec, value_bytes: int, training: bool = True) -> float:
    """Activations a window keeps: for back-propagation through time every step's input, four gates,
    cell state and output of each LSTM layer, and the dense layers' inputs and outputs; for
    inference one step of them."""
    items = network.streams * (network.steps if training else 1)
    words = 0
    for role in network.roles:
        if role.cell == "lstm":
            words += role.cols - role.hidden - 1 + 6 * role.hidden
        else:
            words += role.cols + 2 * role.rows
    return float(value_bytes * items * words)


def residency(baseline: BaselineConfig, weights: float, activations: float, training: bool = True) -> Residency:
    """Weights (with their gradients when training) stay in the cache when they fit, activations too
    when both fit; bytes as stored in the baseline's precision."""
    weights *= 2 if training else 1
    cache = baseline.cache_MB * 1e6
    return Residency(weights <= cache, weights + activations <= cache, weights + activations)


def network_residency(baseline: BaselineConfig, network: NetworkSpec, training: bool = True) -> Residency:
    v = PRECISION_BYTES[baseline.precision]
    weights = float(v * sum(role.rows * role.cols for role in network.roles))
    return residency(baseline, weights, activation_bytes(network, v, training), training)


# ----------------------------------------------------------------------------- time
@dataclass(frozen=True)
class KernelCost:
    """One launch of a kernel: its time, the part each bound takes, and the time it would take at
    the datasheet peak of its binding resource (the busy time of the power model)."""

    seconds: float
    split: dict[str, float]
    busy_s: float


def kernel_cost(kernel: Kernel, baseline: BaselineConfig, resident: Residency) -> KernelCost:
    peak = baseline.peak_tflops[baseline.precision if kernel.tensor else "fp32"] * 1e12
    dram = (0.0 if resident.weights else kernel.weight_bytes) + (0.0 if resident.data else kernel.data_bytes)
    bandwidth = baseline.memory_bandwidth_GBps * 1e9
    peak_times = {"compute": kernel.flops / peak, "memory": dram / bandwidth, "cache": 0.0}
    if baseline.cache_MB > 0:
        peak_times["cache"] = (kernel.weight_bytes + kernel.data_bytes) / (baseline.cache_bandwidth_GBps * 1e9)
    times = {"compute": peak_times["compute"] / baseline.efficiency,
             "memory": peak_times["memory"] / baseline.memory_efficiency, "cache": peak_times["cache"]}
    bound = max(times, key=times.get)
    launch = baseline.launch_overhead_us * 1e-6
    split = {b: 0.0 for b in BOUNDS}
    split["launch"], split[bound] = launch, times[bound]
    return KernelCost(launch + times[bound], split, max(peak_times.values()))


@dataclass(frozen=True)
class Cost:
    """Kernels run one after another (per-step kernels of stacked layers as a wavefront when the
    baseline overlaps layers): seconds, busy seconds, FLOPs, and the seconds by phase and bound."""

    seconds: float
    busy_s: float
    flops: float
    by_phase: dict[str, float]
    by_bound: dict[str, float]

    def energy_J(self, baseline: BaselineConfig) -> float:
        idle = baseline.waiting_power_W
        return idle * self.seconds + (baseline.power_W - idle) * self.busy_s


def program_cost(kernels: list[Kernel], baseline: BaselineConfig, resident: Residency) -> Cost:
    costs = [kernel_cost(k, baseline, resident) for k in kernels]
    scale = _wavefront_scale(kernels, costs) if baseline.overlap_layers else {}
    by_phase = dict.fromkeys(PHASES, 0.0)
    by_bound = dict.fromkeys(BOUNDS, 0.0)
    busy = flops = 0.0
    for k, c in zip(kernels, costs):
        factor = k.launches * scale.get((k.phase, k.layer), 1.0)
        by_phase[k.phase] += factor * c.seconds
        for b, s in c.split.items():
            by_bound[b] += factor * s
        busy += k.launches * c.busy_s
        flops += k.launches * k.flops
    return Cost(sum(by_phase.values()), busy, flops, by_phase, by_bound)


def _wavefront_scale(kernels: list[Kernel], costs: list[KernelCost]) -> dict[tuple[str, int], float]:
    """Per (phase, layer): the factor that turns the per-step kernels of L stacked layers, run one
    after another (sum over layers of T steps), into a wavefront: (T + L - 1) steps of the slowest
    layer's step, but no less than their work alone (concurrent kernels share one processor)."""
    step: dict[str, dict[int, float]] = {}
    work: dict[str, float] = {}
    steps: dict[str, int] = {}
    for k, c in zip(kernels, costs):
        if k.layer is not None:
            step.setdefault(k.phase, {}).setdefault(k.layer, 0.0)
            step[k.phase][k.layer] += c.seconds
            work[k.phase] = work.get(k.phase, 0.0) + k.launches * (c.seconds - c.split["launch"])
            steps[k.phase] = k.launches
    out = {}
    for phase, by_layer in step.items():
        t, layers = steps[phase], len(by_layer)
        serial = t * sum(by_layer.values())
        wavefront = max((t + layers - 1) * max(by_layer.values()), work[phase])
        for layer in by_layer:
            out[(phase, layer)] = wavefront / serial if serial > 0 else 1.0
    return out


def window_cost(baseline: BaselineConfig, network: NetworkSpec, training: bool = True) -> tuple[Cost, Residency]:
    """One window of training (or of inference: the forward kernels alone)."""
    v = PRECISION_BYTES[baseline.precision]
    kernels = window_kernels(network, v)
    if not training:
        kernels = [k for k in kernels if k.phase == "forward"]
    resident = network_residency(baseline, network, training)
    return program_cost(kernels, baseline, resident), resident


# ----------------------------------------------------------------------------- batch
def fits_in_memory(baseline: BaselineConfig, network: NetworkSpec) -> bool:
    """Weights, gradients and the window's activations within the main memory (no bound without
    ``memory_GB``)."""
    if baseline.memory_GB is None:
        return True
    return network_residency(baseline, network).working_set_bytes <= baseline.memory_GB * 1e9


def best_batch(baseline: BaselineConfig, network: NetworkSpec, items_per_epoch: int) -> tuple[NetworkSpec, Cost]:
    """The throughput-best batch: of the powers of two whose window fits in main memory and in an
    epoch, the one with the least time per item."""
    tried: list[tuple[NetworkSpec, Cost]] = []
    batch = 1
    while batch <= MAX_BATCH:
        candidate = replace(network, streams=batch)
        if tried and (candidate.items_per_window > items_per_epoch or not fits_in_memory(baseline, candidate)):
            break
        tried.append((candidate, window_cost(baseline, candidate)[0]))
        batch *= 2
    return min(tried, key=lambda t: t[1].seconds / t[0].items_per_window)


# ----------------------------------------------------------------------------- the estimate
def baseline_estimate(baseline: BaselineConfig, network: NetworkSpec, windows: int, rpu_epoch_s: float,
                      rpu_epoch_J: float, measured_items_per_s: float | None, *,
                      rpu_inference: tuple[float, float] | None = None,
                      measured_conditions: dict | None = None) -> dict | str:
    """The baseline's epoch (and inference, and epoch at its throughput-best batch), or the reason
    it was skipped. ``rpu_inference``: the chip's (seconds, joules) per item of inference.
    ``measured_conditions``: how the measured-host speed was measured (load average, CPUs)."""
    items = windows * network.items_per_window
    if baseline.kind == "measured-host":
        return _measured_host(baseline, network, items, rpu_epoch_s, rpu_epoch_J, measured_items_per_s,
                              measured_conditions)
    cost, resident = window_cost(baseline, network)
    epoch_s, epoch_J = windows * cost.seconds, windows * cost.energy_J(baseline)
    return {
        "name": baseline.name,
        "kind": baseline.kind,
        "preset": baseline.preset,
        "precision": baseline.precision,
        "batch": network.streams,
        "epoch_time_s": epoch_s,
        "time_per_item_s": epoch_s / items,
        "energy_J": epoch_J,
        "power_W": epoch_J / epoch_s,
        "max_power_W": baseline.power_W,
        "idle_power_W": baseline.waiting_power_W,
        "utilization": cost.busy_s / cost.seconds,
        "acceleration_factor": epoch_s / rpu_epoch_s,
        "energy_ratio": per(epoch_J, rpu_epoch_J),
        "time_split_s": {k: v * windows for k, v in cost.by_bound.items()},
        "phase_split_s": {k: v * windows for k, v in cost.by_phase.items()},
        "cache": {"capacity_MB": baseline.cache_MB, "working_set_MB": resident.working_set_bytes / 1e6,
                  "resident": resident.label},
        "flops_per_epoch": cost.flops * windows,
        "achieved_flops_per_s": cost.flops / cost.seconds,
        "best_batch": _at_best_batch(baseline, network, items, rpu_epoch_s, rpu_epoch_J),
        "inference": _inference(baseline, network, rpu_inference),
    }


def _at_best_batch(baseline: BaselineConfig, network: NetworkSpec, items: int, rpu_epoch_s: float,
                   rpu_epoch_J: float) -> dict:
    net, cost = best_batch(baseline, network, items)
    windows = items / net.items_per_window  # the same items as the chip's epoch (a window may not divide it)
    epoch_s, epoch_J = windows * cost.seconds, windows * cost.energy_J(baseline)
    return {
        "batch": net.streams,
        "time_per_item_s": cost.seconds / net.items_per_window,
        "epoch_time_s": epoch_s,
        "energy_J": epoch_J,
        "power_W": epoch_J / epoch_s,
        "acceleration_factor": epoch_s / rpu_epoch_s,
        "energy_ratio": per(epoch_J, rpu_epoch_J),
        "searched": f"batches 1 to {MAX_BATCH:,} (powers of two) whose window fits in main memory and in the epoch",
    }


def _inference(baseline: BaselineConfig, network: NetworkSpec, rpu: tuple[float, float] | None) -> dict:
    cost, _ = window_cost(baseline, network, training=False)
    per_item_s = cost.seconds / network.items_per_window
    per_item_J = cost.energy_J(baseline) / network.items_per_window
    out = {"time_per_item_s": per_item_s, "energy_per_item_J": per_item_J, "power_W": per_item_J / per_item_s}
    if rpu is not None:
        out["acceleration_factor"] = per(per_item_s, rpu[0])
        out["energy_ratio"] = per(per_item_J, rpu[1])
    return out


def _measured_host(baseline: BaselineConfig, network: NetworkSpec, items: int, rpu_epoch_s: float,
                   rpu_epoch_J: float, items_per_s: float | None, conditions: dict | None) -> dict | str:
    if items_per_s is None or items_per_s <= 0:
        return "no measured speed of the floating-point twin (run training, or pass measured_host_chars_per_s)"
    if network.unit != "char":
        return "the measured speed is of the character LSTM, not of this network"
    epoch_s = items / items_per_s
    energy = baseline.power_W * epoch_s
    return {
        "name": baseline.name,
        "kind": baseline.kind,
        "preset": baseline.preset,
        "batch": network.streams,
        "epoch_time_s": epoch_s,
        "time_per_item_s": epoch_s / items,
        "energy_J": energy,
        "power_W": baseline.power_W,
        "acceleration_factor": epoch_s / rpu_epoch_s,
        "energy_ratio": per(energy, rpu_epoch_J),
        "time_split_s": {"measured": epoch_s},
        "measurement": {"items_per_s": items_per_s, **(conditions or {})},
        "note": measurement_note(conditions),
    }


def measurement_note(conditions: dict | None) -> str:
    """One sentence on the conditions of the measured-host speed, for the terminal and report.md."""
    if not conditions:
        return ("measured host: the speed was given without the conditions it was measured in (machine load,"
                " CPUs); a speed measured on a shared machine varies with its load.")
    load = conditions.get("load_avg_1m")
    cpus = conditions.get("cpus")
    how = conditions.get("statistic", "one timing")
    loaded = f"load average {load:.2f} on {cpus} CPUs" if isinstance(load, (int, float)) and not math.isnan(load) \
        else f"{cpus} CPUs, load not available"
    return (f"measured host: {how} of the floating-point twin on this machine, at {loaded}; the figure scales"
            " with the machine's load, so a ratio against it holds for that load only.")
