"""Every simulated event charges its component: the ledger against hand arithmetic."""

import pytest

from rpuarch.arch.des import simulate
from rpuarch.arch.schedule import build_schedule

from archtest_helpers import lstm_program

STREAMS, STEPS = 4, 5


def window_energy(program):
    result = simulate(build_schedule(program, windows=2, chunks=STREAMS))
    for component, phases in result.energy[0].items():  # every window charges the same
        assert phases == pytest.approx(result.energy[1][component], rel=1e-12)
    return result.energy[0]


def test_adc_energy_counts_samples_and_bound_management_repeats():
    # 1 x 8 LSTM on a 20-symbol vocabulary: lstm0 is 32 x 29, the softmax 20 x 9, one tile each.
    # Forward: every pass converts every row once at 23 pJ (9-bit ADC at its reference resolution);
    # a quarter of the vectors get one repeat: 20 vectors + 5 repeats per array and window.
    program = lstm_program(streams=STREAMS, steps=STEPS, activity={"bm_repeats": 0.25})
    energy = window_energy(program)
    passes = STREAMS * STEPS + round(STREAMS * STEPS * 0.25)
    assert energy["adc"]["forward"] == pytest.approx(passes * (32 + 20) * 23e-12, rel=1e-12)
    # Backward: every column of both arrays, once per vector.
    assert energy["adc"]["backward"] == pytest.approx(STREAMS * STEPS * (29 + 9) * 23e-12, rel=1e-12)


def test_update_energy_from_pulses_and_coincidences():
    # Expected activity: 30 % of the BL = 10 slots carry a pulse on an x line, 10 % on a d line,
    # coincidences 10 * 0.3 * 0.1 = 0.3 per device per update. Lines span the 64-cell tile:
    # wire 64 * 0.2 um * 0.2 fF/um = 2.56 fF charged to 1 V, plus 64 half-selected 24 MOhm devices
    # at 0.5 V for 1 ns; a coincidence adds 1 V^2 / (2 * 24 MOhm) * 1 ns.
    program = lstm_program(streams=STREAMS, steps=STEPS)
    pulse = 2.56e-15 + 64 * 0.25 / 24e6 * 1e-9
    coincidence = 1 / (2 * 24e6) * 1e-9
    per_update = [
        0.3 * 10 * cols * pulse + 0.1 * 10 * rows * pulse + 0.3 * rows * cols * coincidence
        for rows, cols in ((32, 29), (20, 9))
    ]
    energy = window_energy(program)
    assert energy["array_update"]["update"] == pytest.approx(STREAMS * STEPS * sum(per_update), rel=1e-9)
    # Pulse generation: every line decides every slot, 50 fJ each.
    slots = sum(10 * (rows + cols) for rows, cols in ((32, 29), (20, 9)))
    assert energy["pulse_generation"]["update"] == pytest.approx(STREAMS * STEPS * slots * 50e-15, rel=1e-9)


def test_read_energy_is_v_squared_over_r_per_device_per_pass():
    program = lstm_program(streams=STREAMS, steps=STEPS)
    energy = window_energy(program)
    devices = 32 * 29 + 20 * 9
    conduction = devices * 1.0 / 24e6 * 80e-9
    wires = (29 + 9) * 2.56e-15  # forward drives the columns, each a 64-cell wire
    assert energy["array_read"]["forward"] == pytest.approx(STREAMS * STEPS * (conduction + wires), rel=1e-9)
