"""The periphery of an array: DAC on the inputs, ADC on the outputs, noise and management.

Names follow aihwkit's IOParameters. A resolution may be given as a step (``inp_res``, in units
of the bound) or as bits (``inp_bits``: step = 1 / (2**bits - 2)); across layers (preset, then
workload, then ``--set``) the one given last wins.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import model_validator

from .base import Section, field


def bits_to_res(bits: int) -> float:
    """aihwkit's convention: a b-bit converter has 2**b - 2 steps across [-bound, bound]/bound."""
    return 1.0 / (2**bits - 2)


class IOConfig(Section):
    """Periphery of one direction (forward or backward) of an analog matrix-vector product."""

    is_perfect: bool = field(
        False, "Exact floating-point product: no clipping, quantisation or noise."
    )
    inp_bound: float = field(1.0, "DAC input range: inputs are clipped to [-inp_bound, inp_bound].", gt=0)
    inp_res: float = field(
        bits_to_res(7),
        "DAC step relative to the input range (1/(2**bits - 2)); 0 = no quantisation.",
        ge=0,
        le=1,
    )
    inp_bits: int | None = field(
        None, "DAC resolution in bits; sets inp_res = 1/(2**inp_bits - 2).", "bit", ge=2, le=24
    )
    inp_sto_round: bool = field(False, "Stochastic rounding in the DAC instead of to-nearest.")
    inp_noise: float = field(0.0, "Gaussian noise added to the inputs, std relative to inp_bound.", ge=0)
    out_bound: float = field(
        12.0, "ADC output range: outputs are clipped to [-out_bound, out_bound].", gt=0
    )
    out_res: float = field(
        bits_to_res(9),
        "ADC step relative to the output range (1/(2**bits - 2)); 0 = no quantisation.",
        ge=0,
        le=1,
    )
    out_bits: int | None = field(
        None, "ADC resolution in bits; sets out_res = 1/(2**out_bits - 2).", "bit", ge=2, le=24
    )
    out_noise: float = field(
        0.06, "Gaussian noise at the integrator output, std in units of the output (weight*input).", ge=0
    )
    w_noise: float = field(
        0.0, "Gaussian weight noise during the read, std in weight units (drawn every read).", ge=0
    )
    noise_management: Literal["abs_max", "none"] = field(
        "abs_max", "abs_max: scale each input vector by its max |x| before the DAC, undo after the ADC."
    )
    bound_management: Literal["iterative", "none"] = field(
        "iterative",
        "iterative: when an output saturates, halve the input scale and repeat the analog pass.",
    )
    max_bm_factor: float = field(
        1000.0,
        "Bound management stops after the pass whose input reduction f (1, 2, 4, ...) exceeds this"
        " factor (aihwkit's max_bm_factor: 1000 allows up to f = 1024, 10 repeats).",
        ge=1,
    )
    max_bm_res: float = field(
        0.25,
        "Bound management also stops after the pass whose f exceeds max_bm_res / DAC step"
        " (aihwkit's max_bm_res: f <= 16 at 7 bits, 4 at 5 bits; no limit without quantisation).",
        ge=0,
    )

    @model_validator(mode="after")
    def _bits_set_resolution(self) -> IOConfig:
        # Bits are a convenience; the numerics read inp_res / out_res only.
        if self.inp_bits is not None:
            object.__setattr__(self, "inp_res", bits_to_res(self.inp_bits))
        if self.out_bits is not None:
            object.__setattr__(self, "out_res", bits_to_res(self.out_bits))
        return self

    @property
    def dac_step(self) -> np.float32:
        """The DAC step inp_res * 2 * inp_bound in float32, as aihwkit computes it (0: none)."""
        return np.float32(np.float32(self.inp_res) * np.float32(2.0 * self.inp_bound))

    @property
    def max_bm_repeats(self) -> int:
        """Extra passes bound management may make: aihwkit stops after the pass whose reduction
        f = 2**k exceeds max_bm_factor or (with a quantised DAC) max_bm_res / DAC step, compared
        in float32."""
        limit = np.float32(self.max_bm_factor)
        if self.dac_step > 0:
            limit = min(limit, np.float32(self.max_bm_res) / self.dac_step)
        return math.floor(math.log2(limit)) + 1 if limit >= 1 else 0

    @property
    def effective_inp_bits(self) -> float:
        """Bits implied by inp_res (for the cost model); inf when unquantised."""
        return math.log2(1 / self.inp_res + 2) if self.inp_res > 0 else math.inf

    @property
    def effective_out_bits(self) -> float:
        return math.log2(1 / self.out_res + 2) if self.out_res > 0 else math.inf


class IOSection(Section):
    """Forward (inference) and backward (error back-propagation) periphery."""

    forward: IOConfig = field(IOConfig(), "Periphery of the forward pass y = W x.")
    backward: IOConfig = field(
        IOConfig(bound_management="none"),
        "Periphery of the backward pass z = W^T d (bound management applies to the forward pass only).",
    )


PERFECT_IO = IOSection(forward=IOConfig(is_perfect=True), backward=IOConfig(is_perfect=True))
