"""The resistive device: how one pulse changes a weight. Names follow aihwkit's PulsedDevice and
its step models (LinearStepDevice, ExpStepDevice, PowStepDevice)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator, model_serializer, model_validator

from .base import Section, field
from .transfer import ALGORITHM_HELP, Algorithm, TransferConfig

DeviceType = Literal["constant_step", "soft_bounds", "linear_step", "exp_step", "pow_step", "ideal"]
STEP_SECTIONS = ("linear_step", "exp_step", "pow_step")  # each named after the type that uses it


class LinearStepParams(Section):
    """Linear-step device (aihwkit LinearStepDevice): an up step is dw_up (1 - gamma_up w / w_ref_up),
    a down step dw_down (1 - gamma_down w / w_ref_down); w_ref is the bound the step moves towards.

    gamma 0 is the constant step, gamma 1 with the device's own bounds as reference is soft bounds.
    Used only when ``device.type`` is ``linear_step``. The pulse-to-pulse noise is multiplicative
    (aihwkit's mult_noise default).
    """

    gamma_up: float = field(
        0.0, "Relative decrease of the up step at w = w_ref_up: the step there is (1 - gamma_up) of the step at w = 0.",
        ge=0, le=10,
    )
    gamma_down: float = field(
        0.0, "Relative decrease of the down step at w = w_ref_down: the step there is (1 - gamma_down) of the step at w = 0.",
        ge=0, le=10,
    )
    gamma_up_dtod: float = field(0.05, "Device-to-device spread of gamma_up, absolute std (|gamma| is kept).", ge=0, le=10)
    gamma_down_dtod: float = field(0.05, "Device-to-device spread of gamma_down, absolute std (|gamma| is kept).", ge=0, le=10)
    mean_bound_reference: bool = field(
        True, "w_ref is the mean bound (device.w_max, device.w_min); false: each device's own bounds (as soft bounds)."
    )


class ExpStepParams(Section):
    """Exponential-step device (aihwkit ExpStepDevice, fitted by IBM to a CMOS-like device): with
    z = 2 a w / (w_max_ij - w_min_ij) + b, an up step is dw_up max(0, 1 - A_up exp(gamma_up z)), a
    down step dw_down max(0, 1 - A_down exp(-gamma_down z)).

    Tile-wise parameters (no device-to-device spread of their own). Used only when ``device.type``
    is ``exp_step``.
    """

    A_up: float = field(0.00081, "Factor A of the up step (negative: the step grows with z).")
    A_down: float = field(0.36833, "Factor A of the down step (negative: the step grows as z falls).")
    gamma_up: float = field(12.44625, "Exponent of the up step.")
    gamma_down: float = field(12.78785, "Exponent of the down step.")
    a: float = field(0.244, "Slope of z in the weight, relative to half the device's range w_max_ij - w_min_ij.")
    b: float = field(0.2425, "Offset of z.")


class PowStepParams(Section):
    """Power-step device (aihwkit PowStepDevice, the Fusi & Abbott synapse): an up step is
    dw_up ((w_max_ij - w) / (w_max_ij - w_min_ij))^gamma_up_ij, a down step
    dw_down ((w - w_min_ij) / (w_max_ij - w_min_ij))^gamma_down_ij.

    gamma_up_ij = pow_gamma |gain + up_bias + r|, gamma_down_ij = pow_gamma |gain - down_bias - r|,
    gain = 1 + pow_gamma_dtod xi, r = pow_up_down_dtod xi, with up_bias and down_bias from pow_up_down
    as for up_down (device.up_down_convention). Used only when ``device.type`` is ``pow_step``.
    """

    pow_gamma: float = field(1.0, "Exponent gamma of the step's dependence on the distance to the bound.", ge=0, le=100)
    pow_gamma_dtod: float = field(0.1, "Device-to-device spread of the exponent, relative std.", ge=0, le=10)
    pow_up_down: float = field(
        0.0, "Up/down asymmetry of the exponent: up (1 + pow_up_down), down (1 - pow_up_down) times pow_gamma"
        " (up_down_convention symmetric).",
        gt=-1, lt=1,
    )
    pow_up_down_dtod: float = field(0.0, "Device-to-device spread of the exponent's asymmetry, absolute std.", ge=0, le=1)


class DeviceConfig(Section):
    """Pulsed resistive device (aihwkit's ConstantStepDevice / SoftBoundsDevice / LinearStepDevice /
    ExpStepDevice / PowStepDevice / IdealDevice).

    A pulse moves a device by about ``dw_min`` (scaled per device and per pulse, and by the step
    model's dependence on the weight) towards ``w_max`` (up) or ``w_min`` (down). ``ideal`` is a
    floating-point weight updated exactly by ``-lr * x * d``.
    """

    preset: str | None = field(None, "Preset under models/devices/ this device started from.")
    type: DeviceType = field(
        "constant_step",
        "constant_step: fixed step, hard bounds; soft_bounds: step shrinks linearly to zero at the"
        " bound it moves towards; linear_step: step shrinks linearly with the weight (device.linear_step);"
        " exp_step: exponential dependence (device.exp_step); pow_step: a power of the distance to the"
        " bound (device.pow_step); ideal: exact floating-point update (no pulses).",
    )
    dw_min: float = field(
        0.001,
        "Mean weight change of one pulse at w = 0 (pow_step: at the far bound; exp_step: before the"
        " exponential factor).",
        "weight", gt=0, le=1,
    )
    dw_min_dtod: float = field(
        0.3, "Device-to-device spread of dw_min, relative std (drawn once per device).", ge=0, le=10
    )
    dw_min_std: float = field(
        0.3, "Pulse-to-pulse spread of each step, relative std (drawn at every pulse).", ge=0, le=10
    )
    up_down: float = field(
        0.0,
        "Global up/down asymmetry gamma: up steps are (1 + gamma) dw_min, down steps (1 - gamma)"
        " dw_min (up_down_convention symmetric).",
        gt=-1,
        lt=1,
    )
    up_down_convention: Literal["symmetric", "one_sided"] = field(
        "symmetric",
        "symmetric: gamma is split evenly, up (1 + gamma), down (1 - gamma) dw_min; one_sided:"
        " aihwkit's, only one direction changes: up (1 + min(gamma, 0)), down (1 - max(gamma, 0))"
        " dw_min, so an aihwkit up_down is entered as it is (also for pow_step.pow_up_down).",
    )
    up_down_dtod: float = field(
        0.01, "Device-to-device spread of the up/down asymmetry, absolute std.", ge=0, le=1
    )
    w_max: float = field(0.6, "Mean upper weight bound.", "weight", gt=0)
    w_min: float = field(-0.6, "Mean lower weight bound.", "weight", lt=0)
    w_max_dtod: float = field(0.3, "Device-to-device spread of w_max, relative std.", ge=0, le=10)
    w_min_dtod: float = field(0.3, "Device-to-device spread of w_min, relative std.", ge=0, le=10)
    linear_step: LinearStepParams = field(LinearStepParams(), "Parameters of the linear_step device type.")
    exp_step: ExpStepParams = field(ExpStepParams(), "Parameters of the exp_step device type.")
    pow_step: PowStepParams = field(PowStepParams(), "Parameters of the pow_step device type.")
    algorithm: Algorithm = field("sgd", ALGORITHM_HELP)
    transfer: TransferConfig = field(TransferConfig(), "Parameters of tiki-taka, ttv2 and c-ttv2 (ignored by sgd).")

    @field_validator("algorithm")
    @classmethod
    def _algorithm_needs_pulses(cls, algorithm: str, info: ValidationInfo) -> str:
        if algorithm != "sgd" and info.data.get("type") == "ideal":
            raise ValueError(f"{algorithm} transfers between pulsed arrays; an ideal device has no pulses (use sgd)")
        return algorithm

    @field_validator("transfer")
    @classmethod
    def _transfer_fits_the_algorithm(cls, transfer: TransferConfig, info: ValidationInfo) -> TransferConfig:
        problem = transfer.combination_problem(info.data.get("algorithm", "sgd"))
        if problem:
            raise ValueError(problem)
        return transfer

    @model_serializer(mode="wrap")
    def _used_sections_only(self, handler: Any) -> dict[str, Any]:
        """Dump only what the device's numbers depend on: the step section its type uses, and the
        transfer settings only for a transfer algorithm. The identity of a run (its cache and
        checkpoint keys, hashes of the dump) then stays that of the runs already made when a new
        step model or algorithm is added."""
        data = handler(self)
        for section in STEP_SECTIONS:
            if section != self.type:
                data.pop(section, None)
        if self.algorithm == "sgd":
            data.pop("algorithm", None)
            data.pop("transfer", None)
        return data

    @model_validator(mode="after")
    def _bounds_ordered(self) -> DeviceConfig:
        if self.w_min >= self.w_max:
            raise ValueError(f"w_min ({self.w_min}) must be below w_max ({self.w_max})")
        return self

    @property
    def granularity(self) -> float:
        """Mean weight change of one pulse at w = 0, aihwkit's ``calcWeightGranularity``: the dw_min
        the update's pulse probabilities and train lengths are computed with. dw_min but for pow_step
        (dw_min 0.5^pow_gamma) and exp_step (the mean of the up and down step at w = 0)."""
        if self.type == "pow_step":
            return self.dw_min * 0.5**self.pow_step.pow_gamma
        if self.type == "exp_step":
            e = self.exp_step
            up_bias, down_bias = self.asymmetry_biases(self.up_down)
            up = (1 + up_bias) * max(0.0, 1 - e.A_up * math.exp(e.gamma_up * e.b))
            down = (1 - down_bias) * max(0.0, 1 - e.A_down * math.exp(-e.gamma_down * e.b))
            mean = 0.5 * self.dw_min * (up + down)
            return mean if mean > 0 else self.dw_min
        return self.dw_min

    def asymmetry_biases(self, gamma: float) -> tuple[float, float]:
        """(up_bias, down_bias) of an asymmetry gamma under ``up_down_convention``: up scales by
        (1 + up_bias), down by (1 - down_bias)."""
        if self.up_down_convention == "one_sided":
            return min(gamma, 0.0), max(gamma, 0.0)
        return gamma, gamma

    @property
    def states(self) -> float:
        """Number of steps between the mean bounds, (w_max - w_min) / granularity."""
        return (self.w_max - self.w_min) / self.granularity
