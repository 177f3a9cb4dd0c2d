"""Input converters (amplitude, pulse-width, bit-serial) and ADCs (SAR, flash, ramp, CCO): how
long a read and its conversion take, and what one conversion costs, for the bits the workload uses."""

from __future__ import annotations

import math

from ...config.hardware import ADCSpec, DACSpec
from .. import quantities as q


def read_window_s(dac: DACSpec, t_int_s: float, bits: int) -> tuple[float, int]:
    """(duration of one read cycle, cycles per read) for inputs of ``bits`` bits.

    amplitude: one cycle of t_int; pwm: the widest pulse, 2**(bits - 1) steps of lsb (the sign
    picks the polarity); bit-serial: ceil(bits / bits_per_cycle) cycles of t_int."""
    if dac.kind == "pwm":
        return 2.0 ** (bits - 1) * dac.lsb_ns * 1e-9, 1
    if dac.kind == "bit-serial":
        return t_int_s, math.ceil(bits / dac.bits_per_cycle)
    return t_int_s, 1


def dac_energy_J(dac: DACSpec, bits: int) -> float:
    """One line, one read cycle: a bit-serial driver's energy per cycle as given; an amplitude or
    pulse-width DAC's scaled from its reference resolution as 2**bits (switched unit elements;
    Saberi et al., IEEE TCAS-I 58:1736, 2011)."""
    if dac.kind == "bit-serial":
        return dac.energy_pJ * 1e-12
    return q.converter_energy_J(dac.energy_pJ * 1e-12, dac.ref_bits, bits)


def adc_energy_J(adc: ADCSpec, bits: int) -> float:
    """One conversion, scaled from the reference resolution as 2**bits (Walden figure of merit)."""
    return q.converter_energy_J(adc.energy_pJ * 1e-12, adc.ref_bits, bits)


def adc_time_s(adc: ADCSpec, lines_read: int, bits: int, window_s: float) -> float:
    """Time the ADC bank needs after a read cycle to convert ``lines_read`` contiguous lines.

    sar, flash: the fullest ADC converts min(lines, lines_per_adc) samples at the sample rate;
    ramp: each conversion counts through 2**bits steps; cco: counts during the read itself and adds
    time only when the read is shorter than 2**bits counts."""
    if adc.kind in ("sar", "flash"):
        return q.adc_time_s(lines_read, adc.lines_per_adc, adc.sample_rate_MSps * 1e6)
    samples = min(lines_read, adc.lines_per_adc)
    counts = 2.0**bits * adc.lsb_ps * 1e-12
    if adc.kind == "ramp":
        return samples * counts
    return samples * max(0.0, counts - window_s)
