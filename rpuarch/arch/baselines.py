"""Digital baselines: the same training on a CPU or GPU, kernel by kernel.

A window of training is the kernels a cuDNN-style LSTM (or a plain MLP) launches: per layer, one
input GEMM over all steps of the window, then per step a recurrent GEMM and an element-wise cell
kernel; backward the same in reverse plus the weight-gradient GEMMs; one SGD kernel per matrix.
The softmax layer works on the whole window at once. Each kernel costs its launch overhead plus
the larger of compute (FLOPs / (peak x efficiency)) and memory traffic (bytes / bandwidth): a
roofline that stays honest for the small per-step GEMMs of small batches, where launches dominate.

``measured-host`` needs no model: the floating-point twin's measured characters per second.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.hardware import BaselineConfig
from .network import ArrayRole, NetworkSpec
from .quantities import per

FP32_BYTES = 4


@dataclass(frozen=True)
class Kernel:
    name: str
    flops: float
    bytes: float
    launches: int = 1


def gemm(name: str, m: int, k: int, n: int, launches: int = 1) -> Kernel:
    """C[m, n] = A[m, k] B[k, n] in FP32, each operand read once and the result written once."""
    return Kernel(name, 2.0 * m * k * n, FP32_BYTES * (m * k + k * n + m * n), launches)


def elementwise(name: str, elements: int, flops_per_element: float, words_per_element: float, launches: int = 1) -> Kernel:
    return Kernel(name, elements * flops_per_element, FP32_BYTES * elements * words_per_element, launches)


def _role_kernels(role: ArrayRole, streams: int, steps: int) -> list[Kernel]:
    b, t = streams, steps
    rows = role.rows
    # The GPU's work does not depend on the RPU mapping: the bias is a GEMM column either way.
    if role.cell == "lstm":
        h = role.hidden
        x = role.inputs
        out = [
            gemm(f"{role.name} input GEMM", b * t, x + 1, 4 * h),
            gemm(f"{role.name} recurrent GEMM", b, h, 4 * h, launches=t),
            elementwise(f"{role.name} cell", b * h, 9, 8, launches=t),
            elementwise(f"{role.name} cell backward", b * h, 16, 10, launches=t),
            gemm(f"{role.name} recurrent backward GEMM", b, 4 * h, h, launches=t),
            gemm(f"{role.name} weight-gradient GEMM", x + h + 1, b * t, 4 * h),
        ]
        if role.source is not None:
            out.append(gemm(f"{role.name} input-gradient GEMM", b * t, 4 * h, x))
    else:
        n = b * t
        cols = role.inputs + 1
        out = [
            gemm(f"{role.name} forward GEMM", n, cols, rows),
            elementwise(f"{role.name} {role.cell}", n * rows, 5 if role.cell == "softmax" else 1, 2),
            elementwise(f"{role.name} delta", n * rows, 2, 3),
            gemm(f"{role.name} weight-gradient GEMM", cols, n, rows),
        ]
        if role.backward_mvm:
            out.append(gemm(f"{role.name} input-gradient GEMM", n, rows, role.inputs))
    out.append(elementwise(f"{role.name} SGD update", role.parameters, 2, 3))
    return out


def window_kernels(network: NetworkSpec) -> list[Kernel]:
    return [k for role in network.roles for k in _role_kernels(role, network.streams, network.steps)]


def kernel_time_s(kernel: Kernel, baseline: BaselineConfig) -> tuple[float, dict[str, float]]:
    """(seconds, {"launch", "compute", "memory": seconds}) for all launches of a kernel."""
    compute = kernel.flops / (baseline.peak_tflops * 1e12 * baseline.efficiency)
    memory = kernel.bytes / (baseline.memory_bandwidth_GBps * 1e9)
    launch = baseline.launch_overhead_us * 1e-6
    per = {"launch": launch, "compute": compute if compute >= memory else 0.0, "memory": memory if memory > compute else 0.0}
    return kernel.launches * (launch + max(compute, memory)), {k: v * kernel.launches for k, v in per.items()}


def baseline_estimate(baseline: BaselineConfig, network: NetworkSpec, windows: int, rpu_epoch_s: float,
                      rpu_epoch_J: float, measured_items_per_s: float | None) -> dict | str:
    """The baseline's epoch, or the reason it was skipped."""
    items = windows * network.items_per_window
    if baseline.kind == "measured-host":
        if measured_items_per_s is None or measured_items_per_s <= 0:
            return "no measured speed of the floating-point twin (run training, or pass measured_host_chars_per_s)"
        if network.unit != "char":
            return "the measured speed is of the character LSTM, not of this network"
        epoch_s = items / measured_items_per_s
        split = {"measured": epoch_s}
        flops = None
    else:
        split = {"launch": 0.0, "compute": 0.0, "memory": 0.0}
        window_s = 0.0
        flops = 0.0
        for kernel in window_kernels(network):
            seconds, parts = kernel_time_s(kernel, baseline)
            window_s += seconds
            flops += kernel.flops * kernel.launches
            for k, v in parts.items():
                split[k] += v * windows
        epoch_s = window_s * windows
    energy = baseline.power_W * epoch_s
    out = {
        "name": baseline.name,
        "kind": baseline.kind,
        "preset": baseline.preset,
        "epoch_time_s": epoch_s,
        "time_per_item_s": epoch_s / items,
        "energy_J": energy,
        "power_W": baseline.power_W,
        "acceleration_factor": epoch_s / rpu_epoch_s,
        "energy_ratio": per(energy, rpu_epoch_J),
        "time_split_s": split,
    }
    if flops is not None:
        out["flops_per_epoch"] = flops * windows
        out["achieved_flops_per_s"] = flops * windows / epoch_s
    return out
