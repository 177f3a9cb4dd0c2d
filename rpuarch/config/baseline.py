"""A digital baseline: the CPU or GPU the RPU chip is compared with.

The presets under models/baselines/ give every constant with its source and a tag ([datasheet],
[paper], [derived], [assumed], [calibrated]); docs/hardware.md explains the model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from .base import Section, field

Precision = Literal["fp32", "tf32", "bf16", "fp16"]
# Bytes of one stored value: TF32 is computed in tensor cores but stored as FP32.
PRECISION_BYTES: dict[str, int] = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2}


class BaselineConfig(Section):
    """A digital processor the RPU chip is compared with.

    Each kernel of a cuDNN-style implementation costs ``launch_overhead_us`` plus a roofline:
    the largest of its FLOPs at ``peak_tflops * efficiency``, its main-memory bytes at
    ``memory_bandwidth_GBps * memory_efficiency`` and its cache bytes at ``cache_bandwidth_GBps``;
    weights (and activations) that fit in ``cache_MB`` are not re-read from main memory. Energy is
    ``idle_power_W`` over the whole time plus ``power_W - idle_power_W`` over the time the work
    would take at the datasheet peak. ``measured-host`` instead uses the floating-point twin's
    measured characters per second on the machine the command runs on.
    """

    preset: str | None = field(None, "Preset under models/baselines/ this baseline came from.")
    name: str = field(..., "Display name.")
    kind: Literal["cpu", "gpu", "measured-host"] = field("cpu", "What sort of processor.")
    precision: Precision = field(
        "fp32", "Arithmetic of the matrix products (fp32, or tensor-core tf32, bf16, fp16); element-wise kernels"
        " run at the fp32 peak. Its peak must be in peak_tflops."
    )
    peak_tflops: dict[Precision, float] | None = field(
        None, "Peak dense throughput (> 0) by precision, without sparsity (required for cpu and gpu, with an fp32"
        " entry); a single number is the fp32 peak.", "TFLOP/s"
    )
    efficiency: float = field(0.6, "Fraction of the peak a large dense matrix product reaches.", gt=0, le=1)
    memory_bandwidth_GBps: float | None = field(
        None, "Main-memory (DRAM, HBM) bandwidth, datasheet peak (required for cpu and gpu).", "GB/s", gt=0
    )
    memory_efficiency: float = field(
        0.8, "Fraction of memory_bandwidth_GBps a streaming kernel sustains.", gt=0, le=1
    )
    memory_GB: float | None = field(
        None, "Main-memory capacity: the largest batch whose window fits bounds the throughput-best batch"
        " (null: no bound).", "GB", gt=0
    )
    cache_MB: float = field(
        0.0, "Last-level cache (GPU L2, CPU LLC): weights, and activations too when all fit, stay there between"
        " kernels instead of being re-read from main memory (0: no cache model).", "MB", ge=0
    )
    cache_bandwidth_GBps: float | None = field(
        None, "Bandwidth of that cache (required when cache_MB > 0).", "GB/s", gt=0
    )
    launch_overhead_us: float = field(
        0.0, "Fixed time of each kernel on the dependent chain beyond its roofline: launch, ramp-up, tail,"
        " synchronisation.", "us", ge=0
    )
    overlap_layers: bool = field(
        False, "Run the per-step kernels of stacked LSTM layers as a wavefront (layer l at step t beside layer"
        " l+1 at step t-1), as cuDNN does."
    )
    power_W: float = field(..., "Power at full load (board power or TDP).", "W", gt=0)
    idle_power_W: float | None = field(
        None, "Power while waiting between and inside latency-bound kernels (null: power_W, i.e. energy ="
        " power_W x time).", "W", ge=0
    )

    @field_validator("peak_tflops", mode="before")
    @classmethod
    def _one_number_is_fp32(cls, value: Any) -> Any:
        return {"fp32": value} if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("peak_tflops")
    @classmethod
    def _positive_peaks(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and any(v <= 0 for v in value.values()):
            raise ValueError("every peak must be > 0")
        return value

    @model_validator(mode="after")
    def _roofline_complete(self) -> BaselineConfig:
        if self.kind == "measured-host":
            return self
        if self.peak_tflops is None or self.memory_bandwidth_GBps is None:
            raise ValueError(f"a {self.kind} baseline needs peak_tflops and memory_bandwidth_GBps")
        if "fp32" not in self.peak_tflops:
            raise ValueError("peak_tflops needs an fp32 entry (the element-wise kernels run at it)")
        if self.precision not in self.peak_tflops:
            raise ValueError(f"precision {self.precision} has no peak in peak_tflops"
                             f" (given: {', '.join(self.peak_tflops)})")
        if self.cache_MB > 0 and self.cache_bandwidth_GBps is None:
            raise ValueError("cache_MB > 0 needs cache_bandwidth_GBps")
        if self.idle_power_W is not None and self.idle_power_W > self.power_W:
            raise ValueError(f"idle_power_W ({self.idle_power_W:g} W) exceeds power_W ({self.power_W:g} W)")
        return self

    @property
    def waiting_power_W(self) -> float:
        return self.power_W if self.idle_power_W is None else self.idle_power_W
