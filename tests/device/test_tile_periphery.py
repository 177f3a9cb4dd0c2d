"""The periphery of the tile: DAC/ADC levels, noise, noise and bound management, counters.

The ideal device (unbounded weights) with an analog IOSection isolates the periphery. Every test
runs on every backend (numba kernel, its float32-product variant and the numpy fallback)."""

import math

import numpy as np
import pytest

from rpuarch.config import DeviceConfig, IOConfig, IOSection, UpdateConfig
from rpuarch.config.io import bits_to_res
from rpuarch.device.tile import AnalogTile

IDEAL = DeviceConfig(type="ideal")
QUIET = dict(out_noise=0.0, inp_res=0.0, out_res=0.0, noise_management="none", bound_management="none")


def tile_with(weights, backend, seed=0, **forward):
    io = IOSection(forward=IOConfig(**forward), backward=IOConfig(**forward))
    tile = AnalogTile(*np.shape(weights), IDEAL, io, UpdateConfig(), np.random.default_rng(seed))
    tile.backend = backend
    tile.weights = weights
    return tile


BACKENDS = pytest.mark.parametrize("backend", ["numba", "numba-f32", "numpy"])


@BACKENDS
@pytest.mark.parametrize("bits", [3, 5, 7])
def test_dac_has_2_to_the_bits_minus_1_levels(backend, bits):
    tile = tile_with([[0.5]], backend, **{**QUIET, "inp_bits": bits, "inp_bound": 1.0})
    x = np.linspace(-1.5, 1.5, 20001)[:, None]
    levels = np.unique(tile.forward(x) / 0.5)
    assert levels.size == 2**bits - 1
    assert levels.min() == -1.0 and levels.max() == 1.0  # clipped to the input bound
    # the DAC works in float32 (as aihwkit): levels near 1 are exact to 6e-8, their differences to 1.2e-7
    np.testing.assert_allclose(np.diff(levels), 2 * bits_to_res(bits), rtol=0, atol=1.2e-7)


@BACKENDS
@pytest.mark.parametrize("bits", [4, 9])
def test_adc_has_2_to_the_bits_minus_1_levels_and_saturates_at_the_bound(backend, bits):
    tile = tile_with([[0.5]], backend, **{**QUIET, "out_bits": bits, "out_bound": 12.0, "inp_bound": 30.0})
    y = tile.forward(np.linspace(-30, 30, 40001)[:, None])
    levels = np.unique(y)
    assert levels.size == 2**bits - 1
    assert levels.min() == -12.0 and levels.max() == 12.0
    # saturated: the quantised value lies beyond the bound (aihwkit tests after rounding), i.e. the
    # analog value is at least half a step beyond it (a tie rounds to the even level beyond it)
    half_step = 12.0 / (2**bits - 2)
    beyond = np.abs(0.5 * np.linspace(-30, 30, 40001)) >= 12 + half_step
    assert tile.activity.forward_saturated == np.count_nonzero(beyond)


@BACKENDS
def test_stochastic_rounding_is_unbiased_and_nearest_is_not(backend):
    """x = 0.3 of a DAC step above a level: nearest gives the level, stochastic rounding the
    value on average. 20,000 draws: sd of the mean 0.0046 step; tolerance 0.025 step (5 sd)."""
    step = 2 * bits_to_res(5)
    x = np.full((20000, 1), 4.3 * step)
    near = tile_with([[1.0]], backend, **{**QUIET, "inp_bits": 5}).forward(x)
    sto = tile_with([[1.0]], backend, **{**QUIET, "inp_bits": 5, "inp_sto_round": True}).forward(x)
    np.testing.assert_allclose(near, 4 * step, rtol=1e-6)  # float32 DAC
    assert set(np.round(np.unique(sto) / step, 5)) == {4.0, 5.0}
    assert sto.mean() / step == pytest.approx(4.3, abs=0.025)


@BACKENDS
@pytest.mark.parametrize("kind", ["out_noise", "w_noise", "inp_noise"])
def test_noise_has_the_configured_std(backend, kind):
    """y = W x + noise with noise management off; 4,000 vectors x 8 outputs = 32,000 draws:
    the sample std has a relative sd of 1/sqrt(2 N) = 0.4 %; tolerance 2 %.
    out_noise: std out_noise; w_noise: std w_noise ||x||; inp_noise: std inp_noise ||W_i||."""
    w = np.full((8, 4), 0.25)
    x = np.full((4000, 4), 0.5)
    tile = tile_with(w, backend, seed=3, **{**QUIET, kind: 0.1})
    noise = tile.forward(x) - x @ w.T
    expected = {"out_noise": 0.1, "w_noise": 0.1 * np.linalg.norm(x[0]), "inp_noise": 0.1 * np.linalg.norm(w[0])}[kind]
    assert noise.std() == pytest.approx(expected, rel=0.02)
    assert abs(noise.mean()) < 5 * expected / math.sqrt(noise.size)


@BACKENDS
def test_noise_management_scales_the_input_to_the_dac_range(backend):
    """abs_max: forward(4 x) = 4 forward(x) exactly (deterministic periphery), and inputs far
    below one DAC step still come through (without it they quantise to zero)."""
    rng = np.random.default_rng(4)
    w = rng.normal(0, 0.3, (6, 10))
    x = 1e-3 * rng.uniform(-1, 1, (5, 10))
    managed = tile_with(w, backend, **{**QUIET, "inp_bits": 7, "out_bits": 9, "noise_management": "abs_max"})
    plain = tile_with(w, backend, **{**QUIET, "inp_bits": 7, "out_bits": 9})
    y = managed.forward(x)
    np.testing.assert_array_equal(managed.forward(4 * x), 4 * y)
    assert np.all(plain.forward(x) == 0)
    # relative error of one DAC step (1/63 of max|x|) and one ADC step per output, at most
    scale = np.abs(x).max(axis=1, keepdims=True)
    bound = scale * (np.abs(w).sum(axis=1) / 126 + 12 / 510)
    assert np.all(np.abs(y - x @ w.T) <= bound.max(axis=1, keepdims=True) + 1e-12)
    assert np.all(managed.forward(np.zeros((2, 10))) == 0)


@BACKENDS
def test_bound_management_halves_the_input_until_nothing_saturates(backend):
    """W x = 32 on every output with out_bound 12: two halvings bring it to 8. The result is
    32 within two ADC steps (scaled back by 4), with 2 repeats per vector counted."""
    w = np.full((4, 64), 0.5)
    x = np.ones((3, 64))
    kw = dict(out_noise=0.0, inp_res=0.0, out_bits=9, out_bound=12.0, noise_management="abs_max")
    managed = tile_with(w, backend, **kw, bound_management="iterative")
    y = managed.forward(x)
    assert np.all(np.abs(y - 32) <= 4 * 24 / 510)
    a = managed.activity
    assert (a.forward_repeats, a.forward_saturated, a.forward_outputs) == (6, 0, 3 * 4 * 3)

    unmanaged = tile_with(w, backend, **kw, bound_management="none")
    assert np.all(unmanaged.forward(x) == 12) and unmanaged.activity.forward_saturated == 12

    # aihwkit's stop rule: the pass at f = 1 does not exceed max_bm_factor 1, the one at f = 2 does
    limited = tile_with(w, backend, **kw, bound_management="iterative", max_bm_factor=1)
    assert np.all(limited.forward(x) == 24)  # one repeat: 16 still saturates at 12, x 2
    assert (limited.activity.forward_repeats, limited.activity.forward_saturated) == (3, 12)


@BACKENDS
def test_dac_rounds_ties_to_even(backend):
    """aihwkit's DAC is rint (half to even). A step of 0.25 (inp_res 0.125) is exact in binary, so
    0.125, -0.375, 0.625 and 0.875 are exact ties: 0.5 -> 0, -1.5 -> -2, 2.5 -> 2, 3.5 -> 4 steps
    (floor(v + 0.5) would give 1, -1, 3, 4 steps)."""
    tile = tile_with(np.eye(4), backend, **{**QUIET, "inp_res": 0.125})
    y = tile.forward(np.array([[0.125, -0.375, 0.625, 0.875]]))
    np.testing.assert_array_equal(y, [[0.0, -0.5, 0.5, 1.0]])


@BACKENDS
@pytest.mark.parametrize("bits, steps", [(7, 31), (5, 7)])
def test_bound_managed_input_uses_aihwkits_float32_scale(backend, bits, steps):
    """x = 1 on a weight of 20 saturates (out_bound 12), so bound management halves it: in float32
    0.5 / float32(2/126) = 31.499998 and 0.5 / float32(2/30) = 7.4999995, which rint takes to 31
    and 7 DAC steps, not the 31.5 and 7.5 steps of exact arithmetic (rounded up before): the
    result is 20 * 2 * 31 * (2/126) = 19.683 at 7 bits, 20 * 2 * 7 * (2/30) = 18.667 at 5."""
    tile = tile_with([[20.0]], backend, out_noise=0.0, out_res=0.0, inp_bits=bits, out_bound=12.0,
                     noise_management="abs_max", bound_management="iterative")
    y = tile.forward(np.array([[1.0]]))
    step = np.float32(np.float32(1 / (2**bits - 2)) * np.float32(2.0))
    assert y[0, 0] == pytest.approx(20 * 2 * float(np.float32(steps) * step), rel=1e-12)  # a float32 level
    assert tile.activity.forward_repeats == 1 and tile.activity.forward_saturated == 0


@BACKENDS
@pytest.mark.parametrize("bits, repeats", [(7, 4), (5, 2), (None, 7)])
def test_bound_management_stops_at_max_bm_res(backend, bits, repeats):
    """W x = 1000, out_bound 12. aihwkit stops after the pass whose reduction f exceeds
    max_bm_res / DAC step = 0.25 * 63 = 15.75 at 7 bits (f = 16: 4 repeats, still saturated: 12 x 16
    = 192) and 0.25 * 15 = 3.75 at 5 bits (f = 4: 2 repeats, 48). Without quantisation only
    max_bm_factor limits it: f = 128 brings 1000 to 7.8, after 7 repeats, exactly."""
    kw = {"inp_bits": bits} if bits else {"inp_res": 0.0}
    tile = tile_with([[1000.0]], backend, out_noise=0.0, out_res=0.0, out_bound=12.0,
                     noise_management="abs_max", bound_management="iterative", **kw)
    y = tile.forward(np.array([[1.0]]))
    assert tile.activity.forward_repeats == repeats
    if bits:
        assert y[0, 0] == pytest.approx(12.0 * 2**repeats) and tile.activity.forward_saturated == 1
    else:
        assert y[0, 0] == 1000.0 and tile.activity.forward_saturated == 0


@BACKENDS
def test_saturation_is_tested_after_the_adc_rounding(backend):
    """9-bit ADC over +-12: step 24/510. 12.02 is 255.43 steps, which round to 255 = 12.0: not
    saturated, no repeat. 12.03 is 255.64 steps -> 256 = 12.047 > 12: saturated, one repeat
    (x halved: 6.015 = 127.82 steps -> 128 steps, times 2 = 12.047)."""
    kw = dict(out_noise=0.0, inp_res=0.0, out_bits=9, out_bound=12.0, noise_management="none",
              bound_management="iterative")
    inside = tile_with([[12.02]], backend, **kw)
    assert inside.forward(np.array([[1.0]]))[0, 0] == pytest.approx(12.0, abs=1e-12)
    assert inside.activity.forward_repeats == 0 and inside.activity.forward_saturated == 0
    beyond = tile_with([[12.03]], backend, **kw)
    assert beyond.forward(np.array([[1.0]]))[0, 0] == pytest.approx(2 * 128 * 24 / 510, rel=1e-12)
    assert beyond.activity.forward_repeats == 1 and beyond.activity.forward_saturated == 0


@BACKENDS
def test_backward_ignores_bound_management(backend):
    w = np.full((64, 4), 0.5)  # backward: z = W^T d = 32 per input
    tile = tile_with(w, backend, out_noise=0.0, inp_res=0.0, bound_management="iterative")
    z = tile.backward(np.ones((2, 64)))
    assert np.all(z == 12) and tile.activity.backward_saturated == 8 and tile.activity.forward_repeats == 0


@pytest.mark.parametrize("fast_backend", ["numba", "numba-f32"])
def test_numba_and_numpy_periphery_agree(fast_backend):
    """Deterministic periphery: the same numbers to rounding (numba-f32: but for the rare output
    whose float32 product falls on the other side of an ADC rounding edge, one ADC step off);
    noisy: the same mean and std (4,000 vectors x 16 outputs; tolerances 5 standard errors)."""
    rng = np.random.default_rng(8)
    w = rng.normal(0, 0.4, (16, 24))
    x = rng.normal(0, 1, (4000, 24)) * rng.uniform(0.1, 3, (4000, 1))
    exact = dict(out_noise=0.0, inp_bits=6, out_bits=8, out_bound=4.0)
    fast, slow = (tile_with(w, b, **exact).forward(x) for b in (fast_backend, "numpy"))
    if fast_backend == "numba":
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    else:  # a step is 8 / 254 of the scaled output, undone by each vector's input scale
        off = ~np.isclose(fast, slow, rtol=0, atol=1e-12)
        assert off.mean() < 1e-3
        step = 8.0 / 254 * np.abs(x).max(axis=1, keepdims=True) / 1.0
        np.testing.assert_allclose(np.abs(fast - slow)[off], np.broadcast_to(step, off.shape)[off], rtol=1e-6)
    noisy = dict(out_noise=0.1, w_noise=0.02, inp_bits=6, inp_sto_round=True, out_bits=8, out_bound=4.0)
    ta, tb = (tile_with(w, b, seed=9, **noisy) for b in (fast_backend, "numpy"))
    fast, slow = ta.forward(x), tb.forward(x)
    diff = (fast - slow).ravel()
    assert abs(diff.mean()) < 5 * diff.std() / math.sqrt(diff.size)
    assert (fast - x @ w.T).std() == pytest.approx((slow - x @ w.T).std(), rel=0.05)
    assert ta.activity.forward_repeats == pytest.approx(tb.activity.forward_repeats, rel=0.1, abs=20)


def test_update_counters_are_consistent():
    tile = AnalogTile(16, 12, DeviceConfig(), IOSection(), UpdateConfig(), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x, d = rng.uniform(-1, 1, (50, 12)), rng.normal(0, 0.05, (50, 16))
    tile.update(x, d, 0.05)
    a = tile.activity
    assert a.updates == 50 and 50 <= a.update_bl <= 500
    assert 0 < a.x_pulses <= a.update_bl * 12 and 0 < a.d_pulses <= a.update_bl * 16
    assert 0 < a.coincidences <= a.update_bl * 12 * 16
    before = a.to_dict()
    tile.update(np.zeros((3, 12)), d[:3], 0.05)  # nothing to send
    assert a.updates == before["updates"] + 3 and a.coincidences == before["coincidences"]


def test_float32_products_are_float64_products_to_a_millionth_of_an_output():
    """numba-f32 rounds W and sums in float32: without ADC rounding, forward and backward stay
    within 1e-6 of the float64 product (relative to the output range), against an ADC step of
    8/254 = 3e-2 at 8 bits: the ADC hides the difference but for outputs at a rounding edge."""
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.3, (256, 141))
    x, d = rng.uniform(-1, 1, (64, 141)), rng.normal(0, 0.1, (64, 256))
    plain = dict(out_noise=0.0, inp_bits=7, out_res=0.0, out_bound=100.0)
    f64, f32 = (tile_with(w, b, **plain) for b in ("numba", "numba-f32"))
    for a, b in ((f64.forward(x), f32.forward(x)), (f64.backward(d), f32.backward(d))):
        assert np.abs(a - b).max() < 1e-6 * np.abs(a).max()
        assert not np.array_equal(a, b)  # it did compute in float32
    f32.weights = w * 0.5  # a new W is read again, in float32 too
    assert np.abs(f32.forward(x) - f64.forward(x) * 0.5).max() < 1e-6 * np.abs(f64.forward(x)).max()
