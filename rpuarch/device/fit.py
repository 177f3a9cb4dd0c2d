"""Device models fitted to measured potentiation/depression curves (``rpuarch device fit``).

    from rpuarch.device.measured import read_measurements
    from rpuarch.device.fit import fit_measurements
    result = fit_measurements(read_measurements("pd.csv"), model="auto")
    result.chosen, result.parameters, result.preset()

Method, per device and per step model (steps.py: constant_step, soft_bounds, linear_step,
exp_step, pow_step):

1. **Fit.** Each pulse's reading is predicted from the reading before it by the model's mean
   step, clipped to the model's bounds, w_k+1 = clip(w_k + f(w_k)) (conditional least squares:
   for a device whose only randomness is the pulse-to-pulse noise these one-step residuals are
   independent, unlike those of a whole simulated curve, whose noise accumulates along the
   trains), and the parameters minimise their sum of squares (scipy.optimize.least_squares,
   trust-region reflective, within physical bounds, from a few starting points). Per device:
   dw_up, dw_down (the step at w = 0), w_max, w_min and the model's shape (linear_step:
   gamma_up, gamma_down in [0, 1], the slope referred to the device's own bounds; exp_step: A and
   k = gamma / (w_max - w_min) per direction, a = 0.5 and b = 0 fixed as they are redundant with
   A and gamma; pow_step: the two exponents). Read noise of the measurement, if any, biases the
   fitted slopes towards zero (the weight a step is predicted from is then itself noisy): a
   note says so when it exceeds a third of a step.
2. **Pulse-to-pulse noise** from the one-step residuals r = dw - f(w) (dw the measured change,
   f(w) the model's mean step at the measured weight) of the pulses at least (1 + 3 dw_min_std)
   steps and 3 read-noise stds from both bounds (where none was clipped; two passes). Read noise of the measurement (std s) makes
   neighbouring residuals anticorrelated, mean r_k r_k+1 = -s^2, and adds 2 s^2 to each r^2; so
   s^2 = -mean r_k r_k+1 (at least 0) and dw_min_std^2 = (sum r^2 - 2 n s^2) / sum f(w)^2.
3. **Model choice** (``model="auto"``): the smallest BIC = n ln(RSS / n) + k ln n of the
   one-step residuals over all devices (n pulses, k parameters: per device times devices). AIC
   = n ln(RSS / n) + 2 k is shown too, and how closely the model's mean curve (each train run
   from its measured start) follows the readings.
4. **Uncertainty** by a parametric bootstrap: ``bootstrap`` synthetic copies of each device's
   measurement, drawn by the same step model with the fitted parameters and noises (our own
   simulator, pulse by pulse, the same pulse sequence, and the read noise), are fitted again; a parameter's
   uncertainty is the standard deviation of its refitted values. With several devices the
   preset's mean values take the standard error of the mean over devices instead, and the
   device-to-device spreads are the spread of the per-device values with the bootstrap variance
   (estimation noise) subtracted.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, field
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import least_squares

from .. import __version__

from ..blas import blas_threads
from ..config import DeviceConfig
from .measured import DeviceTrace, Measurements
from .steps import AFFINE, CONSTANT, EXP, POW, mean_steps, trace

FIT_MODELS = ("constant_step", "soft_bounds", "linear_step", "exp_step", "pow_step")
SHAPES = {
    "constant_step": (),
    "soft_bounds": (),
    "linear_step": ("gamma_up", "gamma_down"),
    "exp_step": ("A_up", "A_down", "k_up", "k_down"),
    "pow_step": ("gamma_up", "gamma_down"),
}
EXP_A, EXP_B = 0.5, 0.0  # exp_step's a and b in the fitted presets: z = w / (w_max - w_min)
CRITERION = "BIC"
DEFAULT_BOOTSTRAP = 30


def parameter_names(model: str) -> tuple[str, ...]:
    """The per-device parameters the fit adjusts for ``model``."""
    return ("dw_up", "dw_down", "w_max", "w_min") + SHAPES[model]


def kernel_params(model: str, theta: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(steps model id, p = dw_down, dw_up, w_min, w_max, shape_down, shape_up, exp) of one device."""
    dw_up, dw_down, w_max, w_min = theta[:4]
    shape_down = shape_up = 0.0
    exp = np.zeros(6)
    kind = {"constant_step": CONSTANT, "exp_step": EXP, "pow_step": POW}.get(model, AFFINE)
    if model == "soft_bounds":
        shape_up, shape_down = min(dw_up / w_max, 1.0), min(dw_down / -w_min, 1.0)
    elif model == "linear_step":
        shape_up, shape_down = min(dw_up * theta[4] / w_max, 1.0), min(dw_down * theta[5] / -w_min, 1.0)
    elif model == "pow_step":
        shape_up, shape_down = theta[4], theta[5]
    elif model == "exp_step":
        span = w_max - w_min
        exp = np.array([theta[4], theta[5], theta[6] * span, theta[7] * span, EXP_A, EXP_B])
    return kind, np.array([dw_down, dw_up, w_min, w_max, shape_down, shape_up]), exp


def mean_trace(model: str, theta: np.ndarray, device: DeviceTrace) -> np.ndarray:
    """The model's mean weight after each pulse, every train started from its measured weight."""
    kind, p, exp = kernel_params(model, theta)
    return trace(kind, p, exp, device.up, device.train_starts, device.weight[:-1], np.zeros(device.up.size), 0.0)


def simulate(model: str, theta: np.ndarray, dw_min_std: float, device: DeviceTrace, rng: np.random.Generator,
             read_noise: float = 0.0) -> DeviceTrace:
    """A synthetic measurement of ``device``'s pulse sequence by the model, pulse by pulse with
    pulse-to-pulse noise, from its first reading, each reading with N(0, read_noise) added."""
    kind, p, exp = kernel_params(model, theta)
    restart = np.zeros(device.up.size, dtype=bool)
    restart[0] = True
    weight = trace(kind, p, exp, device.up, restart, device.weight[:-1], rng.standard_normal(device.up.size), dw_min_std)
    if read_noise > 0:
        weight = weight + read_noise * rng.standard_normal(weight.size)
    return DeviceTrace(device.name, weight, device.up)


# ----------------------------------------------------------------------------- one device
@dataclass(frozen=True)
class NoiseSums:
    """Sums over a device's one-step residuals r = dw - f(w) away from the bounds: what the
    pulse-to-pulse and the read noise are estimated from (added over devices)."""

    squares: float = 0.0  # sum r^2
    steps: float = 0.0  # sum f(w)^2
    lagged: float = 0.0  # sum r_k r_k+1 over neighbouring pairs
    pairs: int = 0
    count: int = 0

    def __add__(self, other: NoiseSums) -> NoiseSums:
        return NoiseSums(*(a + b for a, b in zip(astuple(self), astuple(other))))

    @property
    def read_variance(self) -> float:
        return max(-self.lagged / self.pairs, 0.0) if self.pairs else 0.0

    @property
    def dw_min_std(self) -> float:
        pulse = self.squares - 2 * self.count * self.read_variance
        return math.sqrt(max(pulse, 0.0) / self.steps) if self.steps > 0 else 0.0


@dataclass
class DeviceFit:
    theta: np.ndarray
    rss: float
    identified: np.ndarray  # (k,) bool: the readings depend on the parameter
    noise: NoiseSums


def _bounds(model: str, device: DeviceTrace) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = device.weight.min(), device.weight.max()
    span = hi - lo
    mid = 0.5 * (lo + hi)
    lower = [1e-6 * span, 1e-6 * span, max(mid, 1e-9), lo - 20 * span]
    upper = [span, span, hi + 20 * span, min(mid, -1e-9)]
    shape_range = {"linear_step": ([0, 0], [1, 1]), "pow_step": ([0, 0], [20, 20]),
                   "exp_step": ([-1e3, -1e3, -100 / span, -100 / span], [1e3, 1e3, 100 / span, 100 / span])}
    low_shape, high_shape = shape_range.get(model, ([], []))
    return np.array(lower + low_shape, dtype=float), np.array(upper + high_shape, dtype=float)


def _starts(model: str, device: DeviceTrace) -> list[np.ndarray]:
    """Starting points: steps from the mean change of the pulses in the half of the range away
    from the bound they move to, bounds at the extreme readings, a few shapes."""
    w, up = device.weight, device.up
    lo, hi = w.min(), w.max()
    span, mid = hi - lo, 0.5 * (lo + hi)
    change = np.diff(w)

    def step(mask: np.ndarray, fallback: np.ndarray) -> float:
        values = change[mask] if mask.any() else change[fallback]
        return max(abs(float(values.mean())), 1e-4 * span)

    dw_up = step(up & (w[:-1] < mid), up)
    dw_down = step(~up & (w[:-1] > mid), ~up)
    if model == "constant_step":
        return [np.array([dw_up, dw_down, hi, lo])]
    if model == "soft_bounds":
        return [np.array([2 * dw_up, 2 * dw_down, hi + 0.05 * span, lo - 0.05 * span]),
                np.array([dw_up, dw_down, hi + span, lo - span])]
    if model == "linear_step":
        return [np.array([dw_up, dw_down, hi, lo, g, g]) for g in (0.2, 0.8)]
    if model == "pow_step":
        return [np.array([dw_up / 0.5**g, dw_down / 0.5**g, hi, lo, g, g]) for g in (0.5, 1.0, 2.0)]
    starts = []
    for k in (0.5 / span, 5 / span, 20 / span):  # exp_step: zero steps a little beyond the extremes
        c_up, c_down = math.exp(-k * (hi + 0.05 * span)), math.exp(k * (lo - 0.05 * span))
        starts.append(np.array([dw_up, dw_down, hi, lo, c_up, c_down, k, k]))
    return starts


def one_step(model: str, theta: np.ndarray, device: DeviceTrace) -> np.ndarray:
    """The model's prediction of each reading from the one before it: clip(w_k + f(w_k))."""
    kind, p, exp = kernel_params(model, theta)
    w = device.weight[:-1]
    return np.clip(w + mean_steps(kind, p, exp, device.up, w), p[2], p[3])


def fit_device(model: str, device: DeviceTrace, starts: list[np.ndarray] | None = None,
               noise: tuple[float, float] | None = None) -> DeviceFit:
    """Least-squares fit of one device's readings by ``model``, from ``starts`` (default: a few
    points from the data); ``noise`` = (dw_min_std, read noise) sets the margin to the bounds of
    the noise estimate (default: estimated from this device, in two passes)."""
    lower, upper = _bounds(model, device)
    target = device.weight[1:]

    def residuals(theta: np.ndarray) -> np.ndarray:
        return one_step(model, theta, device) - target

    best = None
    for x0 in starts if starts is not None else _starts(model, device):
        x0 = np.clip(x0, lower + 1e-12 * np.abs(lower), upper - 1e-12 * np.abs(upper))
        result = least_squares(residuals, x0, bounds=(lower, upper), x_scale="jac", method="trf")
        if best is None or result.cost < best.cost:
            best = result
    theta = best.x
    identified = np.any(best.jac != 0, axis=0)
    if noise is None:
        noise = (1.0, 0.0)
        for _ in range(2):
            sums = noise_sums(model, theta, device, *noise)
            noise = (sums.dw_min_std, math.sqrt(sums.read_variance))
    return DeviceFit(theta, 2 * float(best.cost), identified, noise_sums(model, theta, device, *noise))


def noise_sums(model: str, theta: np.ndarray, device: DeviceTrace, dw_min_std: float, read_noise: float) -> NoiseSums:
    """The sums of the one-step residuals of the pulses at least (1 + 3 dw_min_std) mean steps
    |f| plus 3 read_noise from both bounds."""
    kind, p, exp = kernel_params(model, theta)
    w = device.weight[:-1]
    f = mean_steps(kind, p, exp, device.up, w)
    margin = (1 + 3 * dw_min_std) * np.abs(f) + 3 * read_noise
    free = (w + margin < p[3]) & (w - margin > p[2])
    miss = np.diff(device.weight) - f
    neighbours = free[1:] & free[:-1]
    return NoiseSums(float(np.sum(miss[free] ** 2)), float(np.sum(f[free] ** 2)),
                     float(np.sum((miss[1:] * miss[:-1])[neighbours])), int(neighbours.sum()), int(free.sum()))


# ----------------------------------------------------------------------------- all devices
@dataclass
class ModelFit:
    """One step model fitted to every device."""

    model: str
    devices: list[DeviceFit]
    readings: int  # n: the one-step residuals
    rss: float  # their sum of squares
    curve_rms: float  # RMS difference of the mean curve (trains from their measured starts) to the readings

    @property
    def thetas(self) -> np.ndarray:
        return np.array([d.theta for d in self.devices])

    @property
    def parameters(self) -> int:
        return len(parameter_names(self.model)) * len(self.devices)

    @property
    def noise(self) -> NoiseSums:
        return sum((d.noise for d in self.devices), NoiseSums())

    @property
    def dw_min_std(self) -> float:
        return self.noise.dw_min_std

    @property
    def read_noise(self) -> float:
        """The measurement's read noise, std in weight, from the residuals' anticorrelation."""
        return math.sqrt(self.noise.read_variance)

    @property
    def aic(self) -> float:
        return self.readings * math.log(self.rss / self.readings) + 2 * self.parameters

    @property
    def bic(self) -> float:
        return self.readings * math.log(self.rss / self.readings) + self.parameters * math.log(self.readings)

    @property
    def rms(self) -> float:
        return math.sqrt(self.rss / self.readings)



def fit_model(model: str, data: Measurements) -> ModelFit:
    fits = [fit_device(model, d) for d in data.devices]
    readings = sum(d.up.size for d in data.devices)
    curve = sum(float(np.sum((mean_trace(model, f.theta, d) - d.weight) ** 2)) for f, d in zip(fits, data.devices))
    return ModelFit(model, fits, readings, sum(f.rss for f in fits), math.sqrt(curve / readings))


# ----------------------------------------------------------------------------- the preset
@dataclass
class FittedParameter:
    """A field of the fitted preset: its value and one standard error (None: not measured)."""

    path: str  # dotted, under device.
    value: float | bool | str
    se: float | None
    how: str  # what the value is (mean over devices, spread, fixed, ...)


@dataclass
class FitResult:
    data: Measurements
    fits: dict[str, ModelFit]
    chosen: str
    chosen_by: str  # the criterion, or "--model"
    parameters: list[FittedParameter]
    bootstrap: int
    replicates: np.ndarray  # (M, B, k): each device's parameters refitted to its B bootstrap replicates
    notes: list[str] = field(default_factory=list)

    @property
    def device_se(self) -> np.ndarray | None:
        """(M, k): the bootstrap standard error of each device's parameters (None below 2 replicates)."""
        return self.replicates.std(axis=1, ddof=1) if self.bootstrap >= 2 else None

    @property
    def fit(self) -> ModelFit:
        return self.fits[self.chosen]

    @property
    def typical_step(self) -> float:
        """The median |weight change| of one measured pulse: the unit the residuals are shown in."""
        return median_step(self.data)

    @property
    def uncertainty(self) -> str:
        """How the standard errors were obtained."""
        if len(self.data.devices) > 1:
            return (f"1 standard error: of the mean over the {len(self.data.devices)} devices for means, of the"
                    f" standard deviation for spreads; for dw_min_std, and the estimation noise subtracted from the"
                    f" spreads, by a parametric bootstrap of {self.bootstrap} replicates per device")
        if self.bootstrap < 2:
            return "none (no bootstrap)"
        return f"1 standard error: parametric bootstrap of {self.bootstrap} replicates"

    def preset(self, extends: str = "gokmen-vlasov-2016") -> dict:
        """The fitted device as a preset mapping (``device.preset`` or ``extends``), its io and
        update from ``extends``; ``fit`` records the data, every model's goodness of fit, each
        parameter with its standard error and each device's fitted parameters (the fit's own:
        dw_up, dw_down, bounds, shape) with theirs."""
        file = Path(self.data.path).name
        device = _rounded(self.device_config().model_dump(exclude={"preset"}))
        sources = {p.path: f"{'fitted to' if p.se is not None else 'set by fitting'} {file} (rpuarch device fit):"
                           f" {_pm(p)} ({p.how})" for p in self.parameters}
        best = min(f.bic for f in self.fits.values())
        chosen_by = f"smallest {CRITERION}" if self.chosen_by == CRITERION else "given (--model)"
        return {
            "description": f"Fitted to {file} ({_plural(len(self.data.devices), 'device')}, {self.data.pulses} pulses) by"
                           f" rpuarch device fit: {self.chosen} ({chosen_by}); io and update from {extends}.",
            "extends": extends,
            "device": device,
            "sources": sources,
            "fit": {
                "data": {"file": file, "sha256": self.data.sha256, "devices": len(self.data.devices),
                         "pulses": self.data.pulses, "readings": self.data.quantity, "conversion": self.data.conversion},
                "model": self.chosen,
                "chosen_by": chosen_by,
                "criterion": f"{CRITERION} = n ln(RSS / n) + k ln n of the one-step residuals",
                "uncertainty": self.uncertainty,
                "read_noise": _rounded(self.fit.read_noise),
                "parameters": {p.path: {"value": _rounded(p.value), "se": _rounded(p.se), "how": p.how} for p in self.parameters},
                "models": {name: {"parameters": f.parameters, "one_step_rms": _rounded(f.rms),
                                  "one_step_rms_steps": _rounded(f.rms / self.typical_step),
                                  "curve_rms": _rounded(f.curve_rms), "aic": _rounded(f.aic), "bic": _rounded(f.bic),
                                  "delta_bic": _rounded(f.bic - best)} for name, f in self.fits.items()},
                "devices": {d.name: {name: {"value": _rounded(float(v)), "se": None if self.device_se is None else
                                            _rounded(float(self.device_se[m, i]))}
                                     for i, (name, v) in enumerate(zip(parameter_names(self.chosen), f.theta))}
                            for m, (d, f) in enumerate(zip(self.data.devices, self.fit.devices))},
                "notes": list(self.notes),
            },
        }

    def preset_yaml(self, extends: str = "gokmen-vlasov-2016", command: str | None = None) -> str:
        """``preset`` as YAML text, with a comment saying how it was made."""
        head = f"# Written by rpuarch device fit (rpuarch {__version__})"
        head += f": {command}\n" if command else ".\n"
        head += "# A device preset: use it with `device: {preset: THIS_FILE}` or `extends: THIS_FILE`.\n"
        return head + yaml.safe_dump(self.preset(extends), sort_keys=False, width=100, allow_unicode=True)

    def device_config(self) -> DeviceConfig:
        """The fitted device (the preset's device section)."""
        section: dict = {"type": self.chosen, "up_down_convention": "symmetric"}
        for p in self.parameters:
            node = section
            *parents, leaf = p.path.split(".")[1:]
            for name in parents:
                node = node.setdefault(name, {})
            node[leaf] = p.value
        return DeviceConfig.model_validate(section)


def median_step(data: Measurements) -> float:
    """The median |weight change| of one measured pulse."""
    return float(np.median(np.abs(np.concatenate([np.diff(d.weight) for d in data.devices]))))


def _rounded(value):
    """Floats to 6 significant digits (nested lists and mappings too), for the preset file."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool):
        return float(f"{value:.6g}")
    return value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _pm(p: FittedParameter) -> str:
    if isinstance(p.value, bool) or not isinstance(p.value, float):
        return str(p.value)
    return f"{p.value:.4g}" + (f" ± {p.se:.2g}" if p.se is not None else "")


def fit_measurements(data: Measurements, model: str = "auto", bootstrap: int = DEFAULT_BOOTSTRAP,
                     rng: np.random.Generator | None = None, progress=None) -> FitResult:
    """Fit every step model to ``data``, choose one (``model``: a device type or "auto", the
    smallest BIC), and estimate the chosen model's parameters and their uncertainties with
    ``bootstrap`` synthetic replicates (0: none). ``progress(text)`` is told what is running."""
    if model != "auto" and model not in FIT_MODELS:
        raise ValueError(f"model must be 'auto' or one of {', '.join(FIT_MODELS)}, got {model!r}")
    if bootstrap < 0 or bootstrap == 1:
        raise ValueError(f"bootstrap must be 0 (no uncertainties) or at least 2, got {bootstrap}")
    with blas_threads(1):  # small least-squares problems: more BLAS threads only wait (see rpuarch.blas)
        return _fit_measurements(data, model, bootstrap, rng if rng is not None else np.random.default_rng(0),
                                 progress or (lambda text: None))


def _fit_measurements(data: Measurements, model: str, bootstrap: int, rng: np.random.Generator, say) -> FitResult:
    fits = {}
    for name in FIT_MODELS:
        say(f"fitting {name}")
        fits[name] = fit_model(name, data)
    chosen = min(fits, key=lambda name: fits[name].bic) if model == "auto" else model
    fit = fits[chosen]
    replicates = []
    for m, (device, device_fit) in enumerate(zip(data.devices, fit.devices)):
        say(f"bootstrap of {chosen}: device {m + 1} of {len(data.devices)}")
        replicates.append([
            fit_device(chosen, simulate(chosen, device_fit.theta, fit.dw_min_std, device, rng, fit.read_noise),
                       [device_fit.theta], (fit.dw_min_std, fit.read_noise))
            for _ in range(bootstrap)
        ])
    parameters, notes = _preset_parameters(fit, replicates, data)
    thetas = np.array([[r.theta for r in rs] for rs in replicates]).reshape(len(replicates), bootstrap, len(parameter_names(chosen)))
    return FitResult(data, fits, chosen, CRITERION if model == "auto" else "--model", parameters, bootstrap, thetas, notes)


def _per_device(model: str, thetas: np.ndarray, dw_min: float | None = None) -> dict[str, np.ndarray]:
    """Each device's values in the preset's terms, (M,) each ((M, B) for bootstrap thetas (M, B, k)):
    the mean step and asymmetry (relative to dw_min, the mean step over devices), bounds, shapes."""
    t = np.moveaxis(thetas, -1, 0)
    step = 0.5 * (t[0] + t[1])
    dw_min = float(np.mean(step)) if dw_min is None else dw_min
    out = {"dw_min": step, "gain": step / dw_min, "up_down": (t[0] - t[1]) / (2 * dw_min), "w_max": t[2], "w_min": t[3]}
    if model == "linear_step":
        out.update(gamma_up=t[4], gamma_down=t[5])
    elif model == "pow_step":
        out.update(pow_gamma=0.5 * (t[4] + t[5]), pow_up_down_raw=0.5 * (t[4] - t[5]))
    elif model == "exp_step":
        span = t[2] - t[3]
        out.update(A_up=t[4], A_down=t[5], gamma_up=t[6] * span, gamma_down=t[7] * span)
    return out


def _preset_parameters(fit: ModelFit, replicates: list[list[DeviceFit]], data: Measurements) -> tuple[list[FittedParameter], list[str]]:
    model, devices = fit.model, len(fit.devices)
    values = _per_device(model, fit.thetas)
    dw_min = float(values["dw_min"].mean())
    booted = _per_device(model, np.array([[r.theta for r in rs] for rs in replicates]), dw_min) if replicates[0] else None
    names = parameter_names(model)
    identified = np.all([d.identified for d in fit.devices], axis=0)
    unidentified = {names[i] for i in range(len(names)) if not identified[i]}
    notes: list[str] = []
    rows: list[FittedParameter] = []

    def mean(path: str, key: str, scale: float = 1.0, depends: tuple[str, ...] = ()) -> float:
        x = values[key] / scale
        value = float(x.mean())
        if unidentified & set(depends):
            rows.append(FittedParameter(path, value, None, "not identified (bound never reached)"))
            return value
        if devices > 1:
            se, how = float(x.std(ddof=1) / math.sqrt(devices)), f"mean of {devices} devices"
        else:
            se, how = (float((booted[key] / scale).std(ddof=1)) if booted is not None else None), "one device"
        rows.append(FittedParameter(path, value, se, how))
        return value

    def spread(path: str, key: str, scale: float = 1.0, depends: tuple[str, ...] = ()) -> None:
        if devices < 2:
            rows.append(FittedParameter(path, 0.0, None, "not measured (one device)"))
            return
        if unidentified & set(depends):
            rows.append(FittedParameter(path, 0.0, None, "not identified (bound never reached)"))
            return
        x = values[key] / scale
        noise = float(np.mean((booted[key] / scale).var(axis=1, ddof=1))) if booted is not None else 0.0
        observed = float(x.var(ddof=1))
        rows.append(FittedParameter(path, math.sqrt(max(observed - noise, 0.0)), math.sqrt(observed / (2 * (devices - 1))),
                                    f"spread of {devices} devices"))

    mean("device.dw_min", "dw_min")
    spread("device.dw_min_dtod", "gain")
    mean("device.up_down", "up_down")
    spread("device.up_down_dtod", "up_down")
    w_max = mean("device.w_max", "w_max", depends=("w_max",))
    spread("device.w_max_dtod", "w_max", w_max, depends=("w_max",))
    w_min = mean("device.w_min", "w_min", depends=("w_min",))
    spread("device.w_min_dtod", "w_min", abs(w_min), depends=("w_min",))
    if model == "linear_step":
        for side in ("up", "down"):
            mean(f"device.linear_step.gamma_{side}", f"gamma_{side}")
            spread(f"device.linear_step.gamma_{side}_dtod", f"gamma_{side}")
        rows.append(FittedParameter("device.linear_step.mean_bound_reference", False, None,
                                    "fixed (slopes per device's bounds)"))
    elif model == "pow_step":
        pow_gamma = mean("device.pow_step.pow_gamma", "pow_gamma")
        spread("device.pow_step.pow_gamma_dtod", "pow_gamma", pow_gamma)
        mean("device.pow_step.pow_up_down", "pow_up_down_raw", pow_gamma)
        spread("device.pow_step.pow_up_down_dtod", "pow_up_down_raw", pow_gamma)
    elif model == "exp_step":
        for key in ("A_up", "A_down", "gamma_up", "gamma_down"):
            depends = ("w_max", "w_min") if key.startswith("gamma") else ()
            mean(f"device.exp_step.{key}", key, depends=depends)
        for key, value in (("a", EXP_A), ("b", EXP_B)):
            rows.append(FittedParameter(f"device.exp_step.{key}", value, None, "fixed (redundant with A, gamma)"))
        if devices > 1:
            notes.append("exp_step has no device-to-device spread of its shape (aihwkit's model): the preset takes"
                         " the mean over devices of A and gamma.")
    sigma_se = None
    if booted is not None:
        pooled = [sum((rs[b].noise for rs in replicates), NoiseSums()).dw_min_std for b in range(len(replicates[0]))]
        sigma_se = float(np.std(pooled, ddof=1))
    rows.append(FittedParameter("device.dw_min_std", fit.dw_min_std, sigma_se, "one-step residuals"))
    step = median_step(data)
    if fit.read_noise > step / 3:
        notes.append(f"the readings carry read noise of {fit.read_noise:.3g} ({fit.read_noise / step:.2f} median steps,"
                     " from the anticorrelation of neighbouring residuals; removed from dw_min_std): it biases the"
                     " fitted slopes of the step towards zero; average repeated reads to reduce it.")
    for name in sorted(unidentified):
        notes.append(f"{name}: no reading depends on it (the trains never reach that bound); it is held at the"
                     " extreme reading, and its spread is set to 0.")
    for p in rows:  # (asymmetries and spreads may well be 0: only magnitudes are judged)
        magnitude = not any(word in p.path for word in ("dtod", "up_down"))
        if magnitude and isinstance(p.value, float) and p.se is not None and p.se > 0.5 * abs(p.value):
            notes.append(f"{p.path} is poorly determined: {p.value:.4g} ± {p.se:.2g}.")
    return rows, notes


# ----------------------------------------------------------------------------- the plot
def figure(result: FitResult, max_devices: int = 6):
    """A matplotlib Figure: the readings against the chosen model's mean curve (each train from
    its measured start) per pulse, and the measured change of one pulse against the weight (mean
    per bin of the weight) beside the model's mean step, per device (the first ``max_devices``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, fit = result.chosen, result.fit
    fig, (curve, steps) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=110)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    shown = list(zip(result.data.devices, fit.devices))[:max_devices]
    for i, (device, device_fit) in enumerate(shown):
        colour = colours[i % len(colours)]
        pulse = np.arange(device.weight.size)
        curve.plot(pulse, device.weight, ".", ms=2, alpha=0.35, color=colour)
        curve.plot(pulse, mean_trace(model, device_fit.theta, device), lw=1.2, color=colour, label=device.name)
        kind, p, exp = kernel_params(model, device_fit.theta)
        w = device.weight[:-1]
        grid = np.linspace(w.min(), w.max(), 200)
        edges = np.linspace(w.min(), w.max(), 21)
        for up in (True, False):
            mask = device.up == up
            change = np.diff(device.weight)[mask]
            which = np.clip(np.digitize(w[mask], edges) - 1, 0, 19)
            counts = np.bincount(which, minlength=20)
            sums = np.bincount(which, weights=change, minlength=20)
            centres = 0.5 * (edges[1:] + edges[:-1])
            steps.plot(centres[counts > 0], (sums / np.maximum(counts, 1))[counts > 0], "o", ms=3, color=colour, alpha=0.6)
            steps.plot(grid, mean_steps(kind, p, exp, np.full(grid.size, up), grid), lw=1.2, color=colour)
    curve.set_xlabel("pulse number")
    curve.set_ylabel("weight")
    curve.set_title("readings (dots) and the fitted mean curve (lines)")
    curve.legend(loc="best", fontsize=8)
    steps.axhline(0, color="grey", lw=0.5)
    steps.set_xlabel("weight before the pulse")
    steps.set_ylabel("change of one pulse (up > 0, down < 0)")
    steps.set_title("measured mean per weight bin (dots), model step (lines)")
    for ax in (curve, steps):
        ax.grid(alpha=0.3)
    more = f" (first {max_devices} of {len(result.data.devices)} devices)" if len(result.data.devices) > max_devices else ""
    fig.suptitle(f"{Path(result.data.path).name}: {model} fitted{more}")
    fig.tight_layout()
    return fig
