"""The chip cost of a transfer algorithm (tiki-taka, ttv2, c-ttv2): its fast arrays, transfer reads,
transfer pulses and digital buffer, from the measured or expected transfer activity."""

import pytest

from rpuarch.arch.components import build_hardware
from rpuarch.arch.estimate import estimate
from rpuarch.arch.network import workload_network
from rpuarch.arch.program import BUFFER_BYTES_PER_WEIGHT, build_program
from rpuarch.arch.rates import expected_rates, measured_rates
from rpuarch.device.activity import TileActivity

from archtest_helpers import UNCONTENDED, workload

SMALL = dict(network={"hidden": 8, "vocab_size": 20}, training={"streams": 4, "seq_length": 5},
             tile={"rows": 64, "cols": 64}, chip=UNCONTENDED)


def _workload(algorithm="sgd", **transfer):
    return workload(**SMALL, device={"algorithm": algorithm, "transfer": transfer})


def _program(w, activity=None):
    network = workload_network(w, 20)
    hw = build_hardware(w.tile, w.chip, w.io, w.update)
    if activity is None:
        rates = expected_rates(network, w.activity, w.update.desired_bl)
    else:
        rates, _ = measured_rates(network, activity, w.activity, w.update.desired_bl)
    return build_program(network, hw, rates), hw, rates


def _energy(work, passes=1):
    return work.energy(1, passes)


def test_fast_arrays_take_tiles_of_their_own():
    """The chip holds A beside C: twice the tiles, their area in the used part, their static power."""
    sgd, tt = estimate(_workload())["hardware"], estimate(_workload("tiki-taka"))["hardware"]
    assert tt["tiles"] == 2 * sgd["tiles"] == 4
    tile_area = sgd["tile_area_mm2"]
    assert tt["used"]["area_mm2"] - sgd["used"]["area_mm2"] == pytest.approx(2 * tile_area)
    assert tt["transfer"] == {"algorithm": "tiki-taka", "gamma": 0.0, "every_updates": 4, "reads_per_transfer": 1,
                              "arrays_per_weight": 2, "buffer_bytes": 0.0}


def test_transfer_energy_follows_the_measured_counters():
    """Closed forms of docs/hardware.md per logical update: a read charges its driven line and, per
    output, the ADC, the integrator and the weight's devices at full input; the update of C its
    slots, pulses and coincidences; the buffer of ttv2 8 bytes and 4 operations per output."""
    w = _workload("ttv2")
    counts = TileActivity(forward_vectors=100, forward_outputs=3200, backward_vectors=100, backward_outputs=2900,
                          updates=100, update_bl=500, x_pulses=4000, d_pulses=2000, coincidences=9000,
                          transfers=25, transfer_reads=25, transfer_outputs=25 * 32, transfer_updates=25,
                          transfer_bl=25, transfer_x_pulses=25, transfer_d_pulses=300, transfer_coincidences=300)
    activity = {**counts.to_dict(), "arrays": {"lstm0": counts.to_dict(), "softmax": counts.to_dict()}}
    program, hw, rates = _program(w, activity)
    r = rates["lstm0"]
    assert (r.transfers, r.transfer_reads, r.transfer_outputs, r.transfer_bl) == (0.25, 0.25, 8.0, 1.0)
    tile = hw.tile
    d = tile.directions["forward"]
    read = d.reads * (0.25 * (d.dac_J + tile.line_charge_J(64, tile.read_voltage_V))
                      + 8.0 * (d.adc_J + tile.integrator_J(1, 1.0) + tile.devices_per_weight * d.device_J))
    pulses = ((0.25 + 8.0) * 1.0 * tile.slot_J + 0.25 * tile.pulse_J(64) + 3.0 * tile.pulse_J(64)
              + 3.0 * tile.devices_per_weight * tile.coincidence_extra_J)
    update = _energy(program.works[(0, "update")])
    assert update["transfer_read"] == pytest.approx(read, rel=1e-12)
    assert update["transfer_update"] == pytest.approx(pulses, rel=1e-12)
    assert update["buffer"] == pytest.approx(8.0 * 8 * hw.chip.memory_byte_J + 8.0 * 4 * tile.vector_op_J, rel=1e-12)
    stages = {s.resource: s.per_vector for s in program.works[(0, "update")].stages}
    assert stages["lstm0.transfer_update"] == pytest.approx(0.25 * 4 * 1.0 * tile.t_pulse_s)
    assert program.buffer_bytes == BUFFER_BYTES_PER_WEIGHT * (32 * 28 + 20 * 8)  # digital biases: no bias columns


def test_tiki_taka_has_no_buffer_and_sgd_no_transfer():
    tt, _, _ = _program(_workload("tiki-taka"))
    sgd, _, _ = _program(_workload())
    assert "buffer" not in _energy(tt.works[(0, "update")]) and tt.buffer_bytes == 0
    assert not {"transfer_read", "transfer_update", "buffer"} & set(_energy(sgd.works[(0, "update")]))


def test_expected_transfers_follow_the_settings():
    """Without measured counters: every tile transfers n_reads columns every `every` updates
    (units_in_mbatch: every = transfer_every x streams = 2 x 4)."""
    _, _, rates = _program(_workload("tiki-taka", transfer_every=2, n_reads_per_transfer=3))
    r = rates["lstm0"]
    assert r.transfers == pytest.approx(1 / 8) and r.transfer_reads == pytest.approx(3 / 8)
    assert r.transfer_outputs == pytest.approx(32 * 3 / 8) and r.transfer_bl == 10


def test_gamma_reads_both_arrays():
    """W = gamma A + C with gamma > 0: a read of W reads A and C (twice the read energy, the same time)."""
    hidden, _, _ = _program(_workload("tiki-taka"))
    seen, _, _ = _program(_workload("tiki-taka", gamma=0.5))
    for phase in ("forward", "backward"):
        a, b = hidden.works[(0, phase)], seen.works[(0, phase)]
        assert b.energy_per_pass["adc"] == pytest.approx(2 * a.energy_per_pass["adc"])
        assert b.energy_per_pass["array_read"] == pytest.approx(2 * a.energy_per_pass["array_read"])
        tile_time = lambda work: sum(s.per_pass for s in work.stages if s.resource == "lstm0.tile")  # noqa: E731
        assert tile_time(a) == tile_time(b)


def test_estimate_reports_transfer_components():
    hw = estimate(_workload("ttv2"))["hardware"]
    energy, latency = hw["breakdown"]["energy_J"], hw["breakdown"]["latency_s"]
    for component in ("transfer_read", "transfer_update", "buffer"):
        assert energy[component]["update"] > 0 and latency[component]["update"] > 0
