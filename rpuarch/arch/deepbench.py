"""DeepBench's published LSTM times, reproduced by the baseline model: the GPU baselines' calibration.

DeepBench (baidu-research/DeepBench) times one cuDNN LSTM layer (skip-input mode: no input GEMM;
``code/nvidia/rnn_bench.cu``) over T steps: forward, backward-data and backward-weights calls. The
same kernels as a training window of rpuarch's baseline model (``lstm_layer_kernels``) cost them
here. One constant is fitted: the V100's ``launch_overhead_us``, to the H=256, N=16 training time;
every other figure is a prediction. ``calibration_cases()`` gives the table ``rpuarch calibrate``
shows; ``v100_sweep()`` every V100 FP32 LSTM figure of DeepBench, a wider check.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import BaselineConfig, load_preset
from ..config.baseline import PRECISION_BYTES
from .baselines import lstm_layer_kernels, program_cost, residency

TOLERANCE = 0.20
TRAIN_V100 = "baidu-research/DeepBench results/train/DeepBench_NV_V100.xlsx"
FP32_SHEET = f"{TRAIN_V100}, sheet 'Results FP32' (cuDNN 7.6.2, CUDA 10.1)"
FP16_SHEET = f"{TRAIN_V100}, sheet 'Results - FP16 ip, Mixed math' (cuDNN 7.6.2, CUDA 10.1)"
INFERENCE_1080TI = ("baidu-research/DeepBench results/inference/server/DeepBench_NV_1080Ti.xlsx, RNN results in"
                    " single precision (cuDNN 6, CUDA 8)")


@dataclass(frozen=True)
class Figure:
    """One published DeepBench LSTM time (ms); backward parts are None for inference."""

    preset: str
    precision: str
    hidden: int
    batch: int
    steps: int
    forward_ms: float
    backward_data_ms: float | None
    backward_weights_ms: float | None
    source: str
    role: str = "prediction"  # or "fit": a constant was fitted to this figure

    @property
    def training(self) -> bool:
        return self.backward_data_ms is not None

    @property
    def parts_ms(self) -> dict[str, float]:
        parts = {"forward": self.forward_ms}
        if self.training:
            parts.update(backward_data=self.backward_data_ms, backward_weights=self.backward_weights_ms)
        return parts

    @property
    def total_ms(self) -> float:
        return sum(self.parts_ms.values())

    def label(self, gpu: str) -> str:
        mode = "training" if self.training else "inference"
        return f"{gpu} {self.precision.upper()} LSTM {mode}, H={self.hidden}, N={self.batch}, T={self.steps}"


def _v100(precision: str, source: str, rows: list[tuple], role_of_first: str = "prediction") -> list[Figure]:
    return [Figure("v100", precision, h, n, t, f, b, w, source, role_of_first if i == 0 else "prediction")
            for i, (h, n, t, f, b, w) in enumerate(rows)]


# The character language-modelling rows (H=256, T=150) of both V100 sheets, and the 1080 Ti's
# inference time REFERENCE.md quotes.
FIGURES = (
    *_v100("fp32", FP32_SHEET, [(256, 16, 150, 4.542, 5.073, 0.221), (256, 32, 150, 4.899, 5.476, 0.404),
                                (256, 64, 150, 6.700, 5.802, 0.605)], role_of_first="fit"),
    *_v100("fp16", FP16_SHEET, [(256, 16, 150, 4.072, 5.011, 0.082), (256, 32, 150, 4.177, 4.703, 0.133),
                                (256, 64, 150, 4.450, 5.429, 0.241)]),
    Figure("gtx1080ti", "fp32", 256, 1, 150, 1.597, None, None, INFERENCE_1080TI),
)
FIT = next(f for f in FIGURES if f.role == "fit")

# Every V100 FP32 LSTM row of DeepBench (hidden, batch, steps, forward, backward-data, backward-weights).
V100_FP32_ROWS = [
    (512, 16, 25, 1.095, 0.937, 0.165), (512, 32, 25, 1.144, 1.014, 0.271), (512, 64, 25, 1.341, 1.257, 0.436),
    (512, 128, 25, 1.559, 1.594, 0.703), (1024, 16, 25, 1.923, 1.657, 0.445), (1024, 32, 25, 1.978, 1.746, 0.698),
    (1024, 64, 25, 2.205, 2.044, 1.158), (1024, 128, 25, 3.249, 3.017, 2.107), (2048, 16, 25, 3.609, 3.137, 1.254),
    (2048, 32, 25, 3.684, 3.312, 2.167), (2048, 64, 25, 5.570, 4.871, 4.100), (2048, 128, 25, 9.294, 8.450, 7.847),
    (4096, 16, 25, 10.009, 9.144, 4.326), (4096, 32, 25, 10.512, 9.550, 7.692), (4096, 64, 25, 16.598, 15.345, 14.648),
    (4096, 128, 25, 31.169, 29.969, 28.487), (1536, 8, 50, 5.097, 4.571, 0.831), (1536, 16, 50, 5.372, 4.640, 1.327),
    (1536, 32, 50, 5.574, 4.815, 2.420), (256, 16, 150, 4.542, 5.073, 0.221), (256, 32, 150, 4.899, 5.476, 0.404),
    (256, 64, 150, 6.700, 5.802, 0.605),
]


def preset_baseline(figure: Figure, **overrides) -> BaselineConfig:
    preset = load_preset("baseline", figure.preset, "rpuarch.arch.deepbench")
    return BaselineConfig(**{**preset.sections["baseline"], "preset": preset.name, "precision": figure.precision,
                             **overrides})


def model_ms(baseline: BaselineConfig, figure: Figure) -> dict[str, float]:
    """The model's time (ms) of each part DeepBench times: one skip-input LSTM layer, no SGD."""
    v = PRECISION_BYTES[baseline.precision]
    h, n, t = figure.hidden, figure.batch, figure.steps
    kernels = [k for k in lstm_layer_kernels("lstm", h, h, n, t, v, 0, input_gemm=False, input_gradient=False)
               if k.phase in figure.parts_ms]
    # Kept: the 4h x h recurrent weights, and per step the input, four gates, cell state and output.
    resident = residency(baseline, v * 4 * h * h, v * n * (t if figure.training else 1) * 7 * h, figure.training)
    cost = program_cost(kernels, baseline, resident)
    return {phase: 1e3 * cost.by_phase[phase] for phase in figure.parts_ms}


def fit_launch_overhead(figure: Figure = FIT) -> float:
    """The launch overhead (us) at which the model's total time equals the published one (bisection:
    the total grows with it)."""
    low, high = 0.0, 1000.0
    for _ in range(60):
        mid = (low + high) / 2
        total = sum(model_ms(preset_baseline(figure, launch_overhead_us=mid), figure).values())
        low, high = (mid, high) if total < figure.total_ms else (low, mid)
    return (low + high) / 2


def case(figure: Figure) -> dict:
    """One calibration case: the published total, the model's, their ratio, the tolerance, pass."""
    baseline = preset_baseline(figure)
    parts = model_ms(baseline, figure)
    model = sum(parts.values())
    ratio = model / figure.total_ms
    what = "forward + backward-data + backward-weights" if figure.training else "forward (inference)"
    return {
        "name": f"DeepBench {figure.label(baseline.name)}",
        "metric": f"time of one cuDNN LSTM layer over T steps, {what}",
        "unit": "ms",
        "published": figure.total_ms,
        "model": model,
        "ratio": ratio,
        "tolerance": TOLERANCE,
        "pass": abs(ratio - 1) <= TOLERANCE,
        "source": figure.source,
        "role": figure.role,
        "fitted": "v100 launch_overhead_us" if figure.role == "fit" else None,
        "parts_ms": {p: {"published": figure.parts_ms[p], "model": parts[p]} for p in parts},
    }


def calibration_cases() -> list[dict]:
    """The DeepBench cases of ``rpuarch calibrate``: ``{"name", "metric", "unit", "published",
    "model", "ratio", "tolerance", "pass", "source", "role" ("fit" or "prediction"), "fitted",
    "parts_ms"}`` each."""
    return [case(f) for f in FIGURES]


def v100_sweep() -> list[dict]:
    """Every V100 FP32 LSTM figure of DeepBench as a case (the H=256 rows are those above)."""
    return [case(f) for f in _v100("fp32", FP32_SHEET, V100_FP32_ROWS)]


def render() -> str:
    """The calibration tables of docs/hardware.md."""
    cases = calibration_cases()
    head = ("| case | role | published | model | ratio | forward | backward-data | backward-weights |\n"
            "|---|---|---|---|---|---|---|---|\n")
    lines = [head.rstrip("\n")]
    for c in cases:
        parts = [f"{p['published']:.3g} / {p['model']:.3g}" for p in c["parts_ms"].values()]
        parts += ["-"] * (3 - len(parts))
        verdict = "" if c["pass"] else f" (outside +-{TOLERANCE * 100:.0f} %)"
        lines.append(f"| {c['name'].removeprefix('DeepBench ')} | {c['role']} | {c['published']:.3f} ms |"
                     f" {c['model']:.3f} ms | {c['ratio']:.2f}{verdict} | " + " | ".join(parts) + " |")
    sweep = v100_sweep()
    inside = sum(c["pass"] for c in sweep)
    ratios = [c["ratio"] for c in sweep]
    lines += [
        "",
        "Parts are published / model, in ms. Fitted: the V100's `launch_overhead_us` ="
        f" {fit_launch_overhead():.1f} us, to the first row; every other row is a prediction. Tolerance"
        f" +-{TOLERANCE * 100:.0f} % on the total.",
        "",
        f"All {len(sweep)} V100 FP32 LSTM figures of DeepBench (H = 256 to 4,096, N = 8 to 128): the model is within"
        f" +-{TOLERANCE * 100:.0f} % of {inside}, ratios {min(ratios):.2f} to {max(ratios):.2f}:",
        "",
        "| H | N | T | published | model | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row, c in zip(V100_FP32_ROWS, sweep):
        lines.append(f"| {row[0]} | {row[1]} | {row[2]} | {c['published']:.3f} ms | {c['model']:.3f} ms |"
                     f" {c['ratio']:.2f} |")
    return "\n".join(lines) + "\n"
