"""Closed forms of the RPU tile and its converters (REFERENCE.md section 2), in SI units.

Everything the cost model derives from a handful of parameters without simulating: peak
throughput, the array cycle, converter timing and energy scaling, the physical limits the chip
is checked against, and the two schedule shapes whose makespan is known exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BOLTZMANN_J_PER_K = 1.380649e-23
ROOM_TEMPERATURE_K = 300.0


def per(amount: float, base: float) -> float:
    """amount / base, infinite when the base is zero (e.g. efficiency of a chip drawing no power)."""
    return amount / base if base > 0 else math.inf


def peak_ops_per_s(rows: int, cols: int, t_int_s: float) -> float:
    """An n x m array does 2*n*m operations (multiply and add) per integration time."""
    return 2.0 * rows * cols / t_int_s


def update_time_s(bl: float, t_pulse_s: float) -> float:
    """A stochastic update: pulse trains of BL slots in each of the four sign quadrants."""
    return 4.0 * bl * t_pulse_s


def array_cycle_s(t_int_s: float, bl: float, t_pulse_s: float) -> float:
    """Forward read, backward read and update of one array: 2*t_int + 4*BL*t_pulse."""
    return 2.0 * t_int_s + update_time_s(bl, t_pulse_s)


def converter_bits(effective_bits: float, fallback: int) -> int:
    """Whole bits of a converter whose step is 1/(2**bits - 2); ``fallback`` when unquantised."""
    if not math.isfinite(effective_bits):
        return fallback
    return max(1, math.ceil(effective_bits - 1e-9))


def converter_energy_J(energy_at_ref_J: float, ref_bits: int, bits: int) -> float:
    """Energy per conversion scaled from the reference resolution as 2**bits.

    For an ADC this is the Walden figure of merit E = FOM * 2**ENOB (Walden, IEEE JSAC 17:539,
    1999), the regime of the Murmann survey below ~10 bits; for a capacitive or current-steering DAC
    the switched unit elements grow as 2**bits (Saberi et al., IEEE TCAS-I 58:1736, 2011).
    """
    return energy_at_ref_J * 2.0 ** (bits - ref_bits)


def jitter_snr_margin(bits: int, signal_hz: float, jitter_s: float) -> float:
    """Jitter-limited SNR over the quantisation SNR of ``bits``, as an amplitude ratio (>= 1: jitter
    does not cost resolution).

    Sampling a full-scale sine of frequency f with rms jitter sigma limits the SNR to
    1/(2 pi f sigma) (amplitude); ideal quantisation to b bits gives sqrt(1.5) 2**b (6.02 b + 1.76 dB;
    Walden, IEEE JSAC 17:539, 1999). ``signal_hz`` is the frequency of what the ADC samples: for a
    held integrator output, one new value per integration, i.e. at most 1 / (2 t_int).
    """
    if signal_hz <= 0:
        return math.inf
    return 1.0 / (2.0 * math.pi * signal_hz * jitter_s) / (math.sqrt(1.5) * 2.0**bits)


def adc_time_s(lines_read: int, lines_per_adc: int, sample_rate: float) -> float:
    """Time to convert ``lines_read`` contiguous lines with one ADC per ``lines_per_adc`` lines:
    the fullest ADC converts min(lines_read, lines_per_adc) samples, one after another."""
    return min(lines_read, lines_per_adc) / sample_rate


def adc_count(lines: int, lines_per_adc: int) -> int:
    return math.ceil(lines / lines_per_adc)


def snr_margin(lines: int, r_device_ohm: float, voltage_V: float, t_int_s: float, on_off_ratio: float,
               temperature_K: float = ROOM_TEMPERATURE_K) -> float:
    """Gokmen & Vlasov 2016 sizing rule: (1/10) ((b-1)/(b+1)) V sqrt(t_int / (n R k_B T)) must
    exceed 1 for the thermal noise of n devices to stay below the signal (b = g_max/g_min)."""
    b = on_off_ratio
    thermal = lines * r_device_ohm * BOLTZMANN_J_PER_K * temperature_K
    return 0.1 * (b - 1.0) / (b + 1.0) * voltage_V * math.sqrt(t_int_s / thermal)


def ir_drop_ratio(lines: int, r_wire_ohm_per_cell: float, r_device_ohm: float) -> float:
    """Gokmen & Vlasov 2016 sizing rule: n^2 R_wire / R_dev must stay below 0.1."""
    return lines**2 * r_wire_ohm_per_cell / r_device_ohm


def flow_shop_makespan(stage_times: Sequence[float], jobs: int) -> float:
    """Identical jobs through stages of one server each, in order: the first job takes the sum of
    the stages, every further one the slowest stage."""
    if jobs <= 0:
        return 0.0
    return sum(stage_times) + (jobs - 1) * max(stage_times)


def wavefront_makespan(layer_times: Sequence[float], steps: int) -> float:
    """Layers over time steps where (l, t) waits for (l-1, t) and (l, t-1), each layer on its own
    resources: the longest monotone path visits every layer once and spends its remaining
    steps - 1 visits on the slowest layer."""
    if steps <= 0 or not layer_times:
        return 0.0
    return sum(layer_times) + (steps - 1) * max(layer_times)
