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
    # wire 64 * 0.2 um * 0.2 fF/um = 2.56 fF charged to the 2 V update voltage, plus 64 half-selected
    # 24 MOhm devices at 1 V for 1 ns; a coincidence adds (2 V)^2 / (2 * 24 MOhm) * 1 ns.
    program = lstm_program(streams=STREAMS, steps=STEPS)
    pulse = 2.56e-15 * 4 + 64 * 1.0 / 24e6 * 1e-9
    coincidence = 4 / (2 * 24e6) * 1e-9
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
    # Every device conducts at the mean input (input_fraction 0.5 of the 1 V full scale) for t_int.
    program = lstm_program(streams=STREAMS, steps=STEPS)
    energy = window_energy(program)
    devices = 32 * 29 + 20 * 9
    conduction = devices * 1.0 / 24e6 * 80e-9 * 0.5
    wires = (29 + 9) * 2.56e-15  # forward drives the columns, each a 64-cell wire
    assert energy["array_read"]["forward"] == pytest.approx(STREAMS * STEPS * (conduction + wires), rel=1e-9)


def test_integrator_energy_is_its_bias_and_the_charge_it_integrates():
    # A full-scale 4096-row column: 4096 devices x 1 V / 24 MOhm = 171 uA; over 80 ns that is
    # 13.65 pC, supplied at 1 V: 13.65 pJ, plus 10 uW of bias for 80 ns.
    from archtest_helpers import workload
    from rpuarch.arch.components import build_hardware

    w = workload()
    tile = build_hardware(w.tile, w.chip, w.io, w.update).tile
    current = 4096 * 1.0 / 24e6
    assert current == pytest.approx(170.7e-6, rel=1e-3)
    assert tile.integrator_J(4096, 1.0) == pytest.approx(current * 80e-9 * 1.0 + 10e-6 * 80e-9, rel=1e-12)
    # At the mean input (half of full scale) half the charge; an empty line only the bias.
    assert tile.integrator_J(4096, 0.5) == pytest.approx(current * 80e-9 * 0.5 + 10e-6 * 80e-9, rel=1e-12)
    assert tile.integrator_J(0, 0.5) == pytest.approx(10e-6 * 80e-9)
    # In the simulation: per forward pass every output line of every array integrates its row of devices.
    program = lstm_program(streams=STREAMS, steps=STEPS)
    small = program.hardware.tile
    per_pass = 32 * small.integrator_J(29, 0.5) + 20 * small.integrator_J(9, 0.5)
    assert window_energy(program)["integrator"]["forward"] == pytest.approx(STREAMS * STEPS * per_pass, rel=1e-9)
