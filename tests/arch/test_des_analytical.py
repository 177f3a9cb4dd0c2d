"""The SimPy simulation against the analytical model and the closed forms.

Where nothing is contended the closed form is exact and the simulation must reproduce it (to
floating-point rounding; we allow 1e-9 relative). Where a long batch keeps one resource busy the
resource bound is exact up to the pipeline's fill and drain (< 1 % here). Where operations queue
for a shared resource the simulation is slower than both bounds, and reports the queueing.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpuarch.arch import quantities as q
from rpuarch.arch.analytical import bounds
from rpuarch.arch.des import simulate
from rpuarch.arch.schedule import build_schedule

from archtest_helpers import forward_time, lstm_program, mlp_program


@pytest.mark.parametrize("bm_repeats", [0.0, 1.0])
def test_inference_single_stream_is_the_wavefront_closed_form(bm_repeats):
    layers, steps = 3, 10
    program = lstm_program(layers=layers, streams=1, steps=steps, training=False,
                           activity={"bm_repeats": bm_repeats})
    passes = 1 + int(bm_repeats)
    lstm = [forward_time(program, a, passes) for a in range(layers)]
    softmax = forward_time(program, layers, passes)
    assert softmax <= max(lstm)  # the softmax keeps up, so it only adds its last step
    expected = q.wavefront_makespan(lstm, steps) + softmax
    schedule = build_schedule(program, windows=1)
    assert simulate(schedule).makespan == pytest.approx(expected, rel=1e-9)
    assert bounds(schedule).critical_path_s == pytest.approx(expected, rel=1e-9)


def test_bound_management_repeats_are_extra_analog_cycles():
    one = lstm_program(streams=1, steps=4, training=False)
    two = lstm_program(streams=1, steps=4, training=False, activity={"bm_repeats": 1.0})
    for array in (0, 1):
        tile, adc = (s.duration(1, 2) - s.duration(1, 1) for s in two.works[(array, "forward")].stages[:2])
        assert tile == pytest.approx(two.hardware.tile.directions["forward"].window_s)  # one more integration ...
        assert adc == pytest.approx(80e-9)  # ... and one more conversion (16 lines at 200 MS/s)
    extra = [forward_time(two, a, passes=2) - forward_time(one, a) for a in (0, 1)]
    slower = simulate(build_schedule(two, 1)).makespan - simulate(build_schedule(one, 1)).makespan
    # The chain of lstm0 (4 steps) and the softmax's last step each got the extra cycle.
    assert slower == pytest.approx(4 * extra[0] + extra[1], rel=1e-9)


def test_single_sample_mlp_training_matches_the_critical_path():
    # Per-sample SGD: every resource's operations are ordered by dependencies, nothing queues.
    program = mlp_program(batch=1)
    schedule = build_schedule(program, windows=3)
    result = simulate(schedule)
    b = bounds(schedule)
    assert result.makespan == pytest.approx(b.critical_path_s, rel=1e-9)
    assert all(w == 0 for window in result.wait.values() for w in window.values())


def test_long_batch_is_resource_bound_within_one_percent():
    program = lstm_program(streams=64, steps=20, training=False)
    schedule = build_schedule(program, windows=1, chunks=64)
    b = bounds(schedule)
    assert b.limited_by.startswith("resource")
    des = simulate(schedule).makespan
    assert b.makespan_s <= des <= 1.01 * b.makespan_s


def test_contended_bus_explains_the_gap():
    slow_bus = {"noc": {"links": 1, "bandwidth_GBps": 0.1}, "memory": {"ports": 64}}
    program = lstm_program(layers=2, hidden=16, streams=4, steps=5, chip=slow_bus)
    schedule = build_schedule(program, windows=1, chunks=4)
    result = simulate(schedule)
    b = bounds(schedule)
    assert result.makespan > 1.01 * b.makespan_s
    assert result.wait[0]["bus"] > 0
    # Give the same transfers enough links: the queueing on the bus disappears and the gap shrinks.
    wide_bus = {"noc": {"links": 64, "bandwidth_GBps": 0.1}, "memory": {"ports": 64}}
    wide = lstm_program(layers=2, hidden=16, streams=4, steps=5, chip=wide_bus)
    wide_schedule = build_schedule(wide, windows=1, chunks=4)
    wide_result = simulate(wide_schedule)
    assert wide_result.wait[0].get("bus", 0.0) == 0.0
    assert wide_result.makespan < result.makespan


@settings(max_examples=12, deadline=None)
@given(
    layers=st.integers(1, 2), hidden=st.sampled_from([4, 16]), streams=st.integers(1, 4),
    steps=st.integers(1, 4), links=st.integers(1, 3), training=st.booleans(),
)
def test_analytical_bounds_never_exceed_the_simulation(layers, hidden, streams, steps, links, training):
    chip = {"noc": {"links": links, "bandwidth_GBps": 1.0}, "memory": {"ports": links}}
    program = lstm_program(layers=layers, hidden=hidden, streams=streams, steps=steps, training=training, chip=chip)
    schedule = build_schedule(program, windows=2)
    result = simulate(schedule)
    b = bounds(schedule)
    serial = sum(op.duration for op in schedule.ops)
    assert b.makespan_s <= result.makespan * (1 + 1e-9)
    assert result.makespan <= serial * (1 + 1e-9)
