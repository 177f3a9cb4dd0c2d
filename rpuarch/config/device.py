"""The resistive device: how one pulse changes a weight. Names follow aihwkit's PulsedDevice."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationInfo, field_validator, model_serializer, model_validator

from .base import Section, field
from .transfer import ALGORITHM_HELP, Algorithm, TransferConfig

DeviceType = Literal["constant_step", "soft_bounds", "ideal"]


class DeviceConfig(Section):
    """Pulsed resistive device (aihwkit's ConstantStepDevice / SoftBoundsDevice / IdealDevice).

    A pulse moves a device by ``dw_min`` (scaled per device and per pulse) towards ``w_max`` (up)
    or ``w_min`` (down). ``ideal`` is a floating-point weight updated exactly by ``-lr * x * d``.
    """

    preset: str | None = field(None, "Preset under models/devices/ this device started from.")
    type: DeviceType = field(
        "constant_step",
        "constant_step: fixed step, hard bounds; soft_bounds: step shrinks linearly to zero at the"
        " bound it moves towards; ideal: exact floating-point update (no pulses).",
    )
    dw_min: float = field(0.001, "Mean weight change of one pulse at w = 0.", "weight", gt=0, le=1)
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
        " dw_min, so an aihwkit up_down is entered as it is.",
    )
    up_down_dtod: float = field(
        0.01, "Device-to-device spread of the up/down asymmetry, absolute std.", ge=0, le=1
    )
    w_max: float = field(0.6, "Mean upper weight bound.", "weight", gt=0)
    w_min: float = field(-0.6, "Mean lower weight bound.", "weight", lt=0)
    w_max_dtod: float = field(0.3, "Device-to-device spread of w_max, relative std.", ge=0, le=10)
    w_min_dtod: float = field(0.3, "Device-to-device spread of w_min, relative std.", ge=0, le=10)
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
    def _sgd_without_transfer(self, handler: Any) -> dict[str, Any]:
        # An sgd device dumps as it did before the transfer algorithms existed, so that the keys of
        # runs, twins and checkpoints (hashes of the dump) stay those of the runs already made.
        data = handler(self)
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
    def states(self) -> float:
        """Number of steps between the mean bounds, (w_max - w_min) / dw_min."""
        return (self.w_max - self.w_min) / self.dw_min
