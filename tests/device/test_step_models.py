"""The step models (linear, exp and pow step): their definitions against aihwkit's formulas, the
compiled and the numpy form against each other, and the closed forms against stepping.

The distribution tests of every update path against the per-pulse reference are in
test_pulse_update.py (parametrised over DEVICE_TYPES)."""

import math

import numpy as np
import pytest
from numba import njit
from test_pulse_update import DEVICE_TYPES

from rpuarch.config import DeviceConfig
from rpuarch.config.device import ExpStepParams, LinearStepParams, PowStepParams
from rpuarch.device import pulses
from rpuarch.device.devices import draw_devices, mean_step, step_once, step_slope
from rpuarch.device.pulse_response import pulse_response
from rpuarch.device.steps import signed_step

FLAT = dict(dw_min_dtod=0, up_down_dtod=0, w_max_dtod=0, w_min_dtod=0, dw_min_std=0)  # no spread, no noise


@njit
def _compiled_steps(w, up, dev_packed, model, exp):
    out = np.empty(w.size)
    for k in range(w.size):
        i, j = k // w.shape[1], k % w.shape[1]
        p = dev_packed[i, j]
        shape_down, shape_up = (p[4], p[5]) if p.size > 4 else (0.0, 0.0)
        out[k] = signed_step(model, up, w[i, j], p[0], p[1], p[2], p[3], shape_down, shape_up, exp)
    return out.reshape(w.shape)


@pytest.mark.parametrize("device_type", list(DEVICE_TYPES))
def test_compiled_and_numpy_step_functions_agree(device_type):
    """steps.signed_step (numba kernels) and devices.mean_step (numpy path, reference) are two
    codings of one definition: equal to rounding on a grid from bound to bound, both directions."""
    dev = draw_devices(DEVICE_TYPES[device_type], (12, 10), np.random.default_rng(0))
    for fraction in np.linspace(0, 1, 11):
        w = dev.w_min + fraction * (dev.w_max - dev.w_min)
        for up in (True, False):
            np.testing.assert_allclose(_compiled_steps(w, up, dev.packed, dev.model, dev.exp), mean_step(w, up, dev),
                                       rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("device_type", ["soft_bounds", "linear_step", "exp_step", "exp_step_growing", "pow_step"])
def test_step_slope_is_the_derivative_of_the_step(device_type):
    dev = draw_devices(DEVICE_TYPES[device_type], (6, 5), np.random.default_rng(1))
    h = 1e-7
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):  # inside the range: pow's slope is infinite at its bound
        w = dev.w_min + fraction * (dev.w_max - dev.w_min)
        for up in (True, False):
            numeric = (mean_step(w + h, up, dev) - mean_step(w - h, up, dev)) / (2 * h)
            np.testing.assert_allclose(step_slope(w, up, dev), numeric, rtol=1e-5, atol=1e-12)


def test_linear_step_follows_aihwkit_and_contains_soft_bounds():
    """aihwkit's LinearStepRPUDevice: slope_up = -gamma_up dw_up / w_ref_up, so the up step at
    w = w_ref_up is (1 - gamma_up) of the step at 0 (likewise down at w_ref_down); gamma 1 with
    the device's own bounds and no spread is the soft-bounds device, drawn identically."""
    cfg = DeviceConfig(type="linear_step", **FLAT, w_max=0.8, w_min=-0.5,
                       linear_step=LinearStepParams(gamma_up=0.3, gamma_down=0.6, gamma_up_dtod=0, gamma_down_dtod=0))
    dev = draw_devices(cfg, (2, 3), np.random.default_rng(0))
    np.testing.assert_allclose(mean_step(np.full((2, 3), 0.8), True, dev), 0.7 * cfg.dw_min, rtol=1e-12)
    np.testing.assert_allclose(mean_step(np.full((2, 3), -0.5), False, dev), -0.4 * cfg.dw_min, rtol=1e-12)
    np.testing.assert_allclose(mean_step(np.zeros((2, 3)), True, dev), cfg.dw_min, rtol=1e-12)

    soft = DeviceConfig(type="soft_bounds")
    as_linear = soft.model_copy(update={"type": "linear_step", "linear_step": LinearStepParams(
        gamma_up=1, gamma_down=1, gamma_up_dtod=0, gamma_down_dtod=0, mean_bound_reference=False)})
    a = draw_devices(soft, (20, 10), np.random.default_rng(3))
    b = draw_devices(as_linear, (20, 10), np.random.default_rng(3))
    for name in ("dw_up", "dw_down", "w_max", "w_min", "shape_up", "shape_down"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_exp_step_follows_aihwkit():
    """aihwkit's ExpStepRPUDevice update_once: z = 2 a w / (w_max - w_min) + b, up step
    dw_min max(0, 1 - A_up e^(gamma_up z)), down step dw_min max(0, 1 - A_down e^(-gamma_down z));
    the device's own range sets z. Hand values at aihwkit's defaults."""
    cfg = DeviceConfig(type="exp_step", **FLAT)
    dev = draw_devices(cfg, (1, 1), np.random.default_rng(0))
    for w in (-0.6, 0.0, 0.3, 0.6):
        z = 2 * 0.244 * w / 1.2 + 0.2425
        up = 0.001 * max(0.0, 1 - 0.00081 * math.exp(12.44625 * z))
        down = 0.001 * max(0.0, 1 - 0.36833 * math.exp(-12.78785 * z))
        assert mean_step(np.array([[w]]), True, dev)[0, 0] == pytest.approx(up, rel=1e-12)
        assert mean_step(np.array([[w]]), False, dev)[0, 0] == pytest.approx(-down, rel=1e-12)
    # A step that would turn negative stops at 0: A_up e^(gamma_up z) > 1 beyond z = 0.5744
    steep = cfg.model_copy(update={"exp_step": ExpStepParams(a=2.0)})
    dev = draw_devices(steep, (1, 1), np.random.default_rng(0))
    assert mean_step(np.array([[0.6]]), True, dev)[0, 0] == 0.0
    # aihwkit's granularity: the step at w = 0 (here the mean of up and down, which agree to 1e-3)
    expected = 0.0005 * ((1 - 0.00081 * math.exp(12.44625 * 0.2425)) + (1 - 0.36833 * math.exp(-12.78785 * 0.2425)))
    assert cfg.granularity == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("convention", ["symmetric", "one_sided"])
def test_pow_step_follows_aihwkit(convention):
    """aihwkit's PowStepRPUDevice: up step dw ((w_max - w) / range)^gamma_up, down step
    dw ((w - w_min) / range)^gamma_down; exponents (bias + gain + r) pow_gamma with the asymmetry
    split as up_down is (one_sided: aihwkit's populate); granularity dw_min 0.5^pow_gamma."""
    cfg = DeviceConfig(type="pow_step", **FLAT, up_down_convention=convention,
                       pow_step=PowStepParams(pow_gamma=2.0, pow_gamma_dtod=0, pow_up_down=0.1))
    dev = draw_devices(cfg, (1, 1), np.random.default_rng(0))
    g_up, g_down = (2.2, 1.8) if convention == "symmetric" else (2.0, 1.8)
    assert dev.shape_up[0, 0] == pytest.approx(g_up) and dev.shape_down[0, 0] == pytest.approx(g_down)
    w = np.array([[0.3]])
    assert mean_step(w, True, dev)[0, 0] == pytest.approx(0.001 * (0.3 / 1.2) ** g_up, rel=1e-12)
    assert mean_step(w, False, dev)[0, 0] == pytest.approx(-0.001 * (0.9 / 1.2) ** g_down, rel=1e-12)
    assert mean_step(np.array([[-0.6]]), True, dev)[0, 0] == pytest.approx(0.001)  # the full step at the far bound
    assert cfg.granularity == pytest.approx(0.001 * 0.25)
    # the pulse response measures the step at w = 0 that granularity names (no noise, no spread)
    s = pulse_response(cfg.model_copy(update={"pow_step": PowStepParams(pow_gamma=2.0, pow_gamma_dtod=0)}),
                       1, 1, 1, 3, np.random.default_rng(0)).summary
    assert s.step_up == pytest.approx(cfg.granularity) and s.step_down == pytest.approx(cfg.granularity)


def test_pow_step_dtod_draws_the_exponents():
    """Relative spread of the exponent: 4000 devices, std of gamma_up / pow_gamma within 5 % of
    pow_gamma_dtod (standard error of a std from 4000 draws: 1.1 %)."""
    cfg = DeviceConfig(type="pow_step", pow_step=PowStepParams(pow_gamma=1.5, pow_gamma_dtod=0.2))
    dev = draw_devices(cfg, (40, 100), np.random.default_rng(4))
    assert np.mean(dev.shape_up) == pytest.approx(1.5, rel=0.01)
    assert np.std(dev.shape_up / 1.5) == pytest.approx(0.2, rel=0.05)


@pytest.mark.parametrize("device_type", ["soft_bounds", "linear_step"])
def test_affine_closed_form_is_exact_without_noise(device_type):
    cfg = DEVICE_TYPES[device_type].model_copy(update={"dw_min_std": 0.0})
    rng = np.random.default_rng(2)
    dev = draw_devices(cfg, (4, 5), rng)
    w = np.clip(rng.uniform(-0.3, 0.3, (4, 5)), dev.w_min, dev.w_max)
    for direction in ("up", "down"):
        n = rng.integers(0, 400, (4, 5)).astype(float)
        stepwise = w.copy()
        none = np.zeros_like(w, bool)
        for k in range(400):
            step_once(stepwise, (n > k) if direction == "up" else none, (n > k) if direction == "down" else none, dev, rng)
        closed = w.copy()
        counts = (n, np.zeros_like(n)) if direction == "up" else (np.zeros_like(n), n)
        pulses.apply_counts(closed, *counts, dev, rng)
        np.testing.assert_allclose(closed, stepwise, rtol=0, atol=1e-12)


@pytest.mark.parametrize("device_type", ["exp_step", "exp_step_growing", "pow_step"])
def test_mean_field_of_one_way_steps_is_close_to_stepping(device_type):
    """Aggregated mode integrates the steps of exp and pow devices as a flow (8 Runge-Kutta
    substeps): without noise, up to 300 steps one way land within 1.5 steps of taking them one
    by one (measured: 0.4 at most), and within 0.1 step on average."""
    cfg = DEVICE_TYPES[device_type].model_copy(update={"dw_min_std": 0.0})
    rng = np.random.default_rng(5)
    dev = draw_devices(cfg, (20, 20), rng)
    w0 = np.clip(rng.uniform(-0.4, 0.4, (20, 20)), dev.w_min, dev.w_max)
    for up in (True, False):
        n = rng.integers(0, 300, (20, 20)).astype(float)
        stepwise = w0.copy()
        for k in range(300):
            step_once(stepwise, (n > k) & up, (n > k) & (not up), dev, rng)
        flow = w0.copy()
        pulses.apply_counts(flow, n if up else 0 * n, 0 * n if up else n, dev, rng)
        error = np.abs(flow - stepwise) / cfg.granularity
        assert error.max() < 1.5 and error.mean() < 0.1, (error.max(), error.mean())


@pytest.mark.parametrize("preset", ["exp-step", "pow-step", "ecram-tang-2018"])
def test_aggregated_mode_of_the_step_models_agrees_far_from_the_bounds(preset):
    """Measured (rpuarch.device.modes): with weights N(0, 0.1), the aggregated mode of the
    step models gives the exact mode's mean to within the replicate noise (few devices beyond
    4.5 standard errors, as chance allows)."""
    from rpuarch.device.modes import compare_modes

    typical = compare_modes(preset, "typical", batch=300, replicates=6)
    assert typical.significant < 0.01 and typical.bias < 1.5 * typical.bias_floor


@pytest.mark.parametrize("device_type", ["constant_step", "soft_bounds", "linear_step", "exp_step", "pow_step", "ideal"])
def test_a_device_dump_holds_only_the_step_section_its_type_uses(device_type):
    """Run, cache and checkpoint keys hash the workload's dump: a type's dump names only what its
    numbers depend on, so adding a step model left the keys of the other types' runs as they were."""
    dump = DeviceConfig(type=device_type).model_dump(mode="json")
    sections = {"linear_step", "exp_step", "pow_step"} & set(dump)
    assert sections == ({device_type} & {"linear_step", "exp_step", "pow_step"})
    assert DeviceConfig.model_validate(dump) == DeviceConfig(type=device_type)
