"""A whole epoch from a few simulated windows, and grouped streams, against full simulations."""

import pytest

from rpuarch.arch.des import simulate
from rpuarch.arch.epoch import steady_state, window_ends
from rpuarch.arch.schedule import build_schedule, chunk_sizes

from archtest_helpers import lstm_program, mlp_program


@pytest.mark.parametrize("make", [
    lambda: lstm_program(layers=2, hidden=8, streams=3, steps=4, chip={"noc": {"links": 1}, "memory": {"ports": 1}}),
    lambda: mlp_program(batch=2),
])
def test_extrapolated_epoch_matches_a_full_simulation(make):
    program = make()
    windows = 12
    steady = steady_state(program)
    assert steady.converged
    assert steady.schedule.windows < windows
    full = build_schedule(program, windows, chunks=len(steady.schedule.chunk_sizes))
    ends = window_ends(full, simulate(full))
    # The simulation is deterministic: a steady period repeats exactly, up to float rounding.
    assert steady.epoch_time_s(windows) == pytest.approx(ends[-1], rel=1e-9)
    assert steady.epoch_time_s(1) == pytest.approx(ends[0], rel=1e-12)


def test_grouped_streams_stay_within_one_percent_of_one_stream_per_operation():
    # Grouping g streams per operation delays the first result of each group by (g - 1) vectors
    # of each stage; with 16 streams in groups of 2 that is a fraction of a percent.
    program = lstm_program(layers=1, hidden=16, streams=16, steps=10)
    exact = steady_state(program, chunks=16)
    grouped = steady_state(program, chunks=8)
    assert grouped.schedule.streams_per_op == 2 and exact.schedule.streams_per_op == 1
    assert grouped.period_s == pytest.approx(exact.period_s, rel=0.01)
    assert grouped.period_s >= exact.period_s * (1 - 1e-9)  # grouping never helps


def test_chunk_sizes_cover_the_streams():
    for streams in (1, 7, 32, 128):
        sizes = chunk_sizes(streams, steps=100, arrays=3, training=True)
        assert sum(sizes) == streams and max(sizes) - min(sizes) <= 1
    assert chunk_sizes(16, steps=50, arrays=2, training=True, chunks=16) == (1,) * 16


@pytest.mark.parametrize("layers, streams, training", [(2, 2, True), (1, 8, True), (2, 3, False)])
def test_long_windows_extrapolated_from_shorter_ones(layers, streams, training):
    # Past the pipeline's fill every step adds the same time, so two short windows give the long one.
    program = lstm_program(layers=layers, streams=streams, steps=60, training=training)
    full = steady_state(program, ops_budget=10**6)
    short = steady_state(program, ops_budget=300)
    assert short.steps_simulated < 60 and full.steps_simulated == 60
    assert short.scale == pytest.approx(60 / short.steps_simulated)
    assert short.period_s == pytest.approx(full.period_s, rel=1e-6)
    assert short.first_window_s == pytest.approx(full.first_window_s, rel=1e-6)
