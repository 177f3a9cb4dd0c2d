"""Closed forms of REFERENCE.md section 2 and the converter models, checked exactly."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpuarch.arch import quantities as q
from rpuarch.arch.estimate import estimate
from rpuarch.config import resolve


def test_peak_throughput_of_the_papers_examples():
    # REFERENCE.md s2: an n x m array does 2nm operations per t_int.
    assert q.peak_ops_per_s(4000, 4000, 80e-9) == pytest.approx(400e12, rel=1e-12)
    assert q.peak_ops_per_s(1000, 1000, 1e-6) == pytest.approx(2e12, rel=1e-12)


@pytest.mark.parametrize("bl", [1, 10, 31])
def test_array_cycle_is_two_reads_and_four_quadrant_update(bl):
    t_int, t_pulse = 80e-9, 1e-9
    assert q.array_cycle_s(t_int, bl, t_pulse) == pytest.approx(2 * t_int + 4 * bl * t_pulse, rel=1e-12)


def test_array_cycle_of_the_2016_tile_is_200_ns():
    assert q.array_cycle_s(80e-9, 10, 1e-9) == pytest.approx(200e-9, rel=1e-12)


def test_estimate_reports_the_closed_forms_for_a_one_tile_chip():
    workload, _ = resolve({
        "network": {"layers": 1, "hidden": 8, "vocab_size": 20},
        "training": {"streams": 1, "seq_length": 2},
        "dataset": {"name": "tinyshakespeare"},
        "tile": {"rows": 4000, "cols": 4000, "t_int_ns": 80},
        "chip": {"tiles": 2},
        "update": {"desired_bl": 10},
        "baselines": ["v100"],
    }, "test")
    hw = estimate(workload, train_chars=100)["hardware"]
    assert hw["peak_ops_per_s"] == pytest.approx(2 * 400e12, rel=1e-12)
    assert hw["array_cycle_s"] == pytest.approx(2 * 80e-9 + 4 * 10 * 1e-9, rel=1e-12)


def test_converter_energy_doubles_per_bit():
    assert q.converter_energy_J(23e-12, 9, 9) == pytest.approx(23e-12)
    assert q.converter_energy_J(23e-12, 9, 10) == pytest.approx(46e-12)
    assert q.converter_energy_J(23e-12, 9, 7) == pytest.approx(23e-12 / 4)


def test_converter_bits_from_aihwkit_resolution():
    from rpuarch.config.io import bits_to_res

    for bits in (2, 5, 7, 9, 12):
        effective = math.log2(1 / bits_to_res(bits) + 2)
        assert q.converter_bits(effective, 9) == bits
    assert q.converter_bits(math.inf, 9) == 9


def test_jitter_limit_at_the_held_signal_frequency():
    # A held integrator output changes once per t_int = 80 ns: f = 6.25 MHz. With 100 fs of jitter
    # 1/(2 pi f sigma) = 254,648, against sqrt(1.5) 2^b: 9 bits (627) and even 16 bits (80,265) pass.
    f = 1 / (2 * 80e-9)
    assert q.jitter_snr_margin(9, f, 100e-15) == pytest.approx(254_648 / 627.07, rel=1e-4)
    assert q.jitter_snr_margin(16, f, 100e-15) > 1
    # A buyable 14-bit 200 MS/s ADC sampling a signal at its Nyquist frequency (100 MHz) with 100 fs:
    # 15,915 against 20,066: jitter costs it a third of a bit, the margin says so (< 1).
    assert q.jitter_snr_margin(14, 100e6, 100e-15) == pytest.approx(15_915.5 / 20_066.3, rel=1e-4)


def test_adc_time_multiplexing():
    # 16 lines per ADC at 200 MS/s: a full read converts 16 samples per ADC, 80 ns = t_int.
    assert q.adc_time_s(4096, 16, 200e6) == pytest.approx(80e-9)
    assert q.adc_time_s(10, 16, 200e6) == pytest.approx(50e-9)
    assert q.adc_count(4096, 16) == 256 and q.adc_count(4097, 16) == 257


def test_sizing_rules_of_the_2016_tile():
    # Independent arithmetic: (1/10)((5-1)/(5+1)) * 1 V * sqrt(80 ns / (4096 * 24 MOhm * k_B * 300 K)).
    expected = 0.1 * (4 / 6) * math.sqrt(80e-9 / (4096 * 24e6 * 1.380649e-23 * 300))
    assert q.snr_margin(4096, 24e6, 1.0, 80e-9, 5.0) == pytest.approx(expected, rel=1e-12)
    assert q.ir_drop_ratio(4096, 0.1, 24e6) == pytest.approx(4096**2 * 0.1 / 24e6)


def _longest_grid_path(times: list[float], steps: int) -> float:
    """Reference: dynamic programming over the (layer, step) grid."""
    finish = [[0.0] * steps for _ in times]
    for l, d in enumerate(times):
        for t in range(steps):
            ready = max(finish[l - 1][t] if l else 0.0, finish[l][t - 1] if t else 0.0)
            finish[l][t] = ready + d
    return finish[-1][-1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=5), st.integers(1, 12))
def test_wavefront_closed_form_is_the_longest_grid_path(times, steps):
    assert q.wavefront_makespan(times, steps) == pytest.approx(_longest_grid_path(times, steps), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=5), st.integers(1, 12))
def test_flow_shop_closed_form(times, jobs):
    # Reference: C(j, i) = max(C(j-1, i), C(j, i-1)) + t_i.
    done = [0.0] * len(times)
    for _ in range(jobs):
        previous = 0.0
        for i, t in enumerate(times):
            done[i] = max(done[i], previous) + t
            previous = done[i]
    assert q.flow_shop_makespan(times, jobs) == pytest.approx(done[-1], rel=1e-12)
