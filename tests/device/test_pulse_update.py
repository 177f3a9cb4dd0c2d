"""The pulsed update: management, the closed forms, and the fast paths against the per-pulse reference.

Statistical tests use fixed seeds. Each states its tolerance: z-scores of means against a known
standard error with |z| < 4.5 over N devices (false-alarm probability <= N * 6.8e-6), and pooled
variance ratios within 15 % (their standard error is 2-3 % at the sample sizes used).
"""

import math

import numpy as np
import pytest

from rpuarch.config import DeviceConfig, UpdateConfig
from rpuarch.config.device import ExpStepParams, LinearStepParams, PowStepParams
from rpuarch.device import fastrandom, kernels, pulses
from rpuarch.device.devices import draw_devices, step_once
from rpuarch.device.reference import reference_update

GV2016 = DeviceConfig()  # the gokmen-vlasov-2016 values are the model defaults
PLAIN = DeviceConfig(dw_min_dtod=0, up_down_dtod=0, w_max_dtod=0, w_min_dtod=0)  # no device spread
UP = UpdateConfig(desired_bl=10)
# One of every step model, shaped so that the weight dependence matters within +-0.6.
DEVICE_TYPES = {
    "constant_step": GV2016,
    "soft_bounds": GV2016.model_copy(update={"type": "soft_bounds"}),
    "linear_step": GV2016.model_copy(update={"type": "linear_step", "linear_step": LinearStepParams(gamma_up=0.5, gamma_down=0.8)}),
    "exp_step": GV2016.model_copy(update={"type": "exp_step"}),  # aihwkit's defaults: steps 35 % smaller at the bounds
    # aihwkit's ReRAM fit (negative A, a and b): steps that grow towards the bound they move to
    "exp_step_growing": GV2016.model_copy(update={"type": "exp_step", "exp_step": ExpStepParams(
        A_up=-1.18445, A_down=-0.081404, gamma_up=5.0, gamma_down=5.0, a=-0.5, b=-0.5)}),
    "pow_step": GV2016.model_copy(update={"type": "pow_step", "pow_step": PowStepParams(pow_gamma=0.5, pow_up_down=0.2)}),
}
IMPLEMENTATIONS = ["numba-exact", "numpy-exact", "numba-aggregated", "numpy-aggregated", "reference"]


def run(impl, w, x, d, lr, cfg, dev, rng, up=UP):
    if impl == "reference":
        return reference_update(w, x, d, lr, cfg.dw_min, up, dev, rng)
    backend, mode = impl.split("-")
    if backend == "numba":
        return kernels.update(w, x, d, lr, cfg.dw_min, up, dev, rng, aggregate=mode == "aggregated")
    apply = pulses.aggregated_update if mode == "aggregated" else pulses.exact_update
    return apply(w, x, d, lr, cfg.dw_min, up, dev, rng)


# ----------------------------------------------------------------------------- management
@pytest.mark.parametrize("x_amax, d_amax, lr", [(1.0, 0.05, 0.05), (0.8, 0.002, 0.05), (1.0, 0.3, 0.05), (0.3, 1.0, 0.01)])
def test_pulse_scales_follow_update_and_bl_management(x_amax, d_amax, lr):
    bl, a, b = pulses.pulse_scales(x_amax, d_amax, lr, 0.001, UP)
    k = lr * x_amax * d_amax / 0.001
    assert bl == max(1, min(10, math.ceil(k)))
    # the largest x gets probability sqrt(k / BL), capped at 1 when BL was capped
    assert b * x_amax == pytest.approx(min(1.0, math.sqrt(k / bl)))
    if k <= 10:  # uncapped: E[coincidences] = BL * A * B * |x d| = lr |x d| / dw_min exactly
        assert bl * a * b == pytest.approx(lr / 0.001)
        assert a * d_amax == pytest.approx(b * x_amax)  # update management balances the two sides
    else:  # capped: the x side saturates at 1 and the d side beyond it (clipped to 1 in the trains)
        assert a * d_amax > 1.0


def test_pulse_scales_without_management_and_degenerate_inputs():
    plain = UpdateConfig(desired_bl=10, update_management=False, update_bl_management=False)
    bl, a, b = pulses.pulse_scales(1.0, 1.0, 0.005, 0.001, plain)
    assert bl == 10 and a == b == pytest.approx(math.sqrt(0.005 / 0.01))
    assert pulses.pulse_scales(0.0, 1.0, 0.05, 0.001, UP)[0] == 0
    assert pulses.pulse_scales(1.0, 0.0, 0.05, 0.001, UP)[0] == 0


def test_fixed_bl_keeps_the_train_length_when_lr_exceeds_bl_dw_min():
    """lr 0.05 > BL dw_min = 0.01. aihwkit's default fixed_BL keeps BL = 10 with A = B =
    sqrt(0.05 / 0.01) = 2.236 (probabilities clip at 1 from |x| = 0.447); fixed_bl false lengthens
    the trains to ceil(0.05 / 0.001) = 50 slots with A = B = 1."""
    fixed = UpdateConfig(desired_bl=10, update_management=False, update_bl_management=False)
    assert fixed.fixed_bl  # the default, as aihwkit's
    bl, a, b = pulses.pulse_scales(1.0, 1.0, 0.05, 0.001, fixed)
    assert bl == 10 and a == b == pytest.approx(math.sqrt(5))
    assert pulses.max_train_length(0.05, 0.001, fixed) == 10
    growing = fixed.model_copy(update={"fixed_bl": False})
    assert pulses.pulse_scales(1.0, 1.0, 0.05, 0.001, growing) == (50, 1.0, 1.0)
    assert pulses.max_train_length(0.05, 0.001, growing) == 50
    # with update management but no BL management aihwkit lengthens the train first, then balances:
    # k = 0.05 * 1 * 0.1 / 0.001 = 5 <= 10, so A = sqrt(1 / 0.1), B = sqrt(0.1 / 1)
    um = growing.model_copy(update={"update_management": True})
    bl, a, b = pulses.pulse_scales(1.0, 0.1, 0.05, 0.001, um)
    assert bl == 50 and a == pytest.approx(math.sqrt(10)) and b == pytest.approx(math.sqrt(0.1))


@pytest.mark.parametrize("x_amax, d_amax", [(1.0, 0.05), (0.8, 0.002), (1.0, 0.3)])
def test_bl_management_turns_update_management_on(x_amax, d_amax):
    """aihwkit sets update_management = update_management or update_bl_management: BL management
    alone gives the same trains as both on."""
    alone = UpdateConfig(desired_bl=10, update_management=False, update_bl_management=True)
    assert alone.manages_updates
    assert pulses.pulse_scales(x_amax, d_amax, 0.05, 0.001, alone) == pulses.pulse_scales(x_amax, d_amax, 0.05, 0.001, UP)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_fixed_bl_clipped_probabilities_give_the_clipped_mean(impl):
    """No management, fixed BL 10, lr 0.05: A = B = sqrt(5), so |x| = 1 and |d| = 0.6 pulse in
    every slot and E[dW] = dw_min BL min(1, sqrt(5)|d|) min(1, sqrt(5)|x|), not -lr d x (the
    clipping aihwkit's default does). 600 updates per device from W = 0; |z| < 4.5."""
    fixed = UpdateConfig(desired_bl=10, update_management=False, update_bl_management=False)
    cfg = PLAIN.model_copy(update={"w_max": 10.0, "w_min": -10.0})  # bounds out of reach
    x = np.array([[1.0, -0.2, 0.1]])
    d = np.array([[0.6, -0.1]])
    n = 600
    dev = draw_devices(cfg, (2, 3), np.random.default_rng(0))
    w = np.zeros((2, 3))
    stats = run(impl, w, np.repeat(x, n, 0), np.repeat(d, n, 0), 0.05, cfg, dev, np.random.default_rng(4), up=fixed)
    assert stats.bl == 10 * n
    pq = np.minimum(math.sqrt(5) * np.abs(d.T), 1) * np.minimum(math.sqrt(5) * np.abs(x), 1)
    expected = -np.sign(d.T * x) * cfg.dw_min * 10 * pq * n
    se = cfg.dw_min * np.sqrt(n * 10 * pq * (1 - pq + cfg.dw_min_std**2))
    assert np.max(np.abs((w - expected) / se)) < 4.5
    assert abs(w[0, 0]) == pytest.approx(10 * n * cfg.dw_min, rel=0.05)  # both probabilities 1: 10 steps each


# ----------------------------------------------------------------------------- E[dW]
@pytest.mark.parametrize("d_scale", [0.05, 0.01])  # BL = 3 and BL = 1 (k = 2.5 and 0.5)
@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_mean_update_is_minus_lr_d_x_far_from_bounds(impl, d_scale):
    """Symmetric device without spread: E[dW] = -lr d x per rank-1 update.

    40 blocks of 50 identical updates, each block from W = 0 (at most 0.125 of movement, far
    from the 0.6 bounds). Per update n_ij ~ Binomial(BL, p_j q_i) exactly, so
    Var(dW_ij) = dw_min^2 BL pq (1 - pq + dw_min_std^2); z-scores use that standard error."""
    cfg = PLAIN
    x = np.linspace(-1, 1, 9)[None, :]  # includes x = 0: those devices must not move at all
    d = d_scale * np.array([[1.0, -0.5, 0.25, -1.0, 0.75, 0.1]])
    lr, blocks, per_block = 0.05, 40, 50
    dev = draw_devices(cfg, (6, 9), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    block_sums = np.empty((blocks, 6, 9))
    for k in range(blocks):
        w = np.zeros((6, 9))
        run(impl, w, np.repeat(x, per_block, 0), np.repeat(d, per_block, 0), lr, cfg, dev, rng)
        block_sums[k] = w
    n = blocks * per_block
    mean = block_sums.sum(0) / n
    expected = -lr * d.T @ x
    bl, a, b = pulses.pulse_scales(1.0, d_scale, lr, cfg.dw_min, UP)
    assert bl == (3 if d_scale == 0.05 else 1)
    pq = np.minimum(a * np.abs(d.T), 1) * np.minimum(b * np.abs(x), 1)
    np.testing.assert_allclose(bl * pq * cfg.dw_min, np.abs(expected), rtol=1e-12)  # no clipped probability
    se = cfg.dw_min * np.sqrt(bl * pq * (1 - pq + cfg.dw_min_std**2) / n)
    zero = x[0] == 0
    assert np.all(mean[:, zero] == 0)
    z = (mean[:, ~zero] - expected[:, ~zero]) / se[:, ~zero]
    assert np.max(np.abs(z)) < 4.5, z
    # The spread too: variance of a block sum = per_block * Var(dW). Pooled over 48 devices the
    # ratio has a standard error of ~3.4 % (39 degrees of freedom each); tolerance 15 %.
    expected_var = per_block * (se[:, ~zero] ** 2 * n)
    assert block_sums[:, :, ~zero].var(0, ddof=1).sum() / expected_var.sum() == pytest.approx(1, abs=0.15)


@pytest.mark.parametrize("gamma", [0.05, -0.05, 0.0])
def test_asymmetry_drift_sign_and_size(gamma):
    """Up steps (1 + gamma) dw_min, down steps (1 - gamma) dw_min: under updates that are zero
    on average (d and -d alternating) each coincidence drifts the weight by gamma dw_min on average.

    64 devices, ~1000 coincidences each: the drift gamma * dw_min * N ~ 0.05 against a noise of
    dw_min sqrt(N) ~ 0.032 per device, 0.004 for the mean over devices (tolerance 5 of those)."""
    cfg = PLAIN.model_copy(update={"up_down": gamma, "dw_min_std": 0.0})
    rng = np.random.default_rng(7)
    dev = draw_devices(cfg, (8, 8), rng)
    x = rng.uniform(-1, 1, (1, 8))
    d = 0.04 * rng.uniform(-1, 1, (1, 8))
    signs = np.where(np.arange(800) % 2 == 0, 1.0, -1.0)[:, None]
    w = np.zeros((8, 8))
    stats = kernels.update(w, np.repeat(x, 800, 0), signs * d, 0.05, cfg.dw_min, UP, dev, rng, aggregate=False)
    per_device = stats.coincidences / 64
    expected = gamma * cfg.dw_min * per_device
    noise = cfg.dw_min * math.sqrt(per_device) / 8
    assert abs(w.mean() - expected) < 5 * noise
    if gamma:
        assert np.sign(w.mean()) == np.sign(gamma)
        assert w.mean() / expected == pytest.approx(1, abs=0.4)


@pytest.mark.parametrize("gamma, up, down", [(0.1, 1.0, 0.9), (-0.1, 0.9, 1.0)])
def test_one_sided_up_down_is_aihwkits(gamma, up, down):
    """aihwkit's convention changes one direction only: up_down 0.1 gives up 1.0 and down 0.9
    dw_min, -0.1 up 0.9 and down 1.0 (symmetric: 1 +- gamma)."""
    cfg = PLAIN.model_copy(update={"up_down": gamma, "up_down_convention": "one_sided"})
    dev = draw_devices(cfg, (2, 2), np.random.default_rng(0))
    np.testing.assert_allclose(dev.dw_up, up * cfg.dw_min, rtol=1e-12)
    np.testing.assert_allclose(dev.dw_down, down * cfg.dw_min, rtol=1e-12)
    symmetric = draw_devices(cfg.model_copy(update={"up_down_convention": "symmetric"}), (2, 2), np.random.default_rng(0))
    np.testing.assert_allclose(symmetric.dw_up - symmetric.dw_down, 2 * gamma * cfg.dw_min, rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.1, -0.04])
def test_one_sided_up_down_converts_to_symmetric(gamma):
    """The conversion of docs/device.md: an aihwkit device (one-sided gamma_a, dw_min, dw_min_dtod,
    up_down_dtod) is the symmetric one with c = 1 - |gamma_a| / 2, gamma = gamma_a / (2 c),
    dw_min c, dw_min_dtod / c and up_down_dtod / c: the same seed draws the same devices."""
    aihwkit = GV2016.model_copy(update={"up_down": gamma, "up_down_convention": "one_sided", "up_down_dtod": 0.05})
    c = 1 - abs(gamma) / 2
    ours = GV2016.model_copy(update={"up_down": gamma / (2 * c), "dw_min": aihwkit.dw_min * c,
                                     "dw_min_dtod": aihwkit.dw_min_dtod / c, "up_down_dtod": 0.05 / c})
    a = draw_devices(aihwkit, (30, 20), np.random.default_rng(9))
    b = draw_devices(ours, (30, 20), np.random.default_rng(9))
    for name in ("dw_up", "dw_down", "w_max", "w_min"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- agreement
def _replicates(impl, cfg, replicates, seed):
    """Final weights of a fixed 40-update sequence that drives devices into their bounds."""
    rng = np.random.default_rng(3)
    dev = draw_devices(cfg, (10, 8), rng)
    w0 = np.clip(rng.uniform(-0.5, 0.5, (10, 8)), dev.w_min, dev.w_max)
    # A consistent sign per row and column: every device is pushed one way, up to 10 steps per
    # update (BL capped at 10 by lr = 0.5), about 0.3 in all: many devices reach their bound.
    x = rng.uniform(0.2, 1, (40, 8)) * np.sign(rng.normal(size=(1, 8)))
    d = np.abs(rng.normal(0, 0.05, (40, 10))) * np.sign(rng.normal(size=(1, 10)))
    noise = np.random.default_rng(seed)
    out = np.repeat(w0[None], replicates, 0)
    if impl == "reference":  # vectorised over the independent replicates
        run(impl, out, x, d, 0.5, cfg, dev, noise)
    else:
        for w in out:
            run(impl, w, x, d, 0.5, cfg, dev, noise)
    return out, dev


def _assert_same_distribution(a, b):
    mean_a, mean_b = a.mean(0), b.mean(0)
    var_a, var_b = a.var(0, ddof=1), b.var(0, ddof=1)
    se = np.sqrt((var_a + var_b) / a.shape[0])
    moving = se > 0
    assert np.all(mean_a[~moving] == mean_b[~moving])
    z = (mean_a[moving] - mean_b[moving]) / se[moving]
    assert np.max(np.abs(z)) < 4.5, np.sort(np.abs(z))[-5:]
    assert var_a.sum() / var_b.sum() == pytest.approx(1, abs=0.15)


@pytest.mark.parametrize("device_type", list(DEVICE_TYPES))
@pytest.mark.parametrize("impl", ["numba-exact", "numpy-exact"])
def test_exact_paths_match_the_per_pulse_reference_at_the_bounds(impl, device_type):
    """Clipping n steps once equals clipping every step (exact, hard bounds), the affine closed
    form of soft bounds and linear step (exact mean, first-order noise) and the step-by-step
    exp and pow steps match pulse-by-pulse updating: 200 replicates, 80 devices, many of them
    pushed into their bounds."""
    cfg = DEVICE_TYPES[device_type]
    fast, dev = _replicates(impl, cfg, 200, seed=11)
    slow, _ = _replicates("reference", cfg, 200, seed=12)
    hit = np.isclose(fast, dev.w_max) | np.isclose(fast, dev.w_min)
    if device_type == "constant_step":
        assert hit.mean() > 0.1  # the bounds matter in this sequence (14 % of final weights)
    _assert_same_distribution(fast, slow)


@pytest.mark.parametrize("device_type", list(DEVICE_TYPES))
def test_numba_and_numpy_aggregated_paths_agree(device_type):
    cfg = DEVICE_TYPES[device_type]
    fast, _ = _replicates("numba-aggregated", cfg, 200, seed=21)
    slow, _ = _replicates("numpy-aggregated", cfg, 200, seed=22)
    _assert_same_distribution(fast, slow)


def test_activity_counts_match_between_paths():
    """Pulses, coincidences and BL counted by the kernel, numpy and the reference agree in mean."""
    cfg = GV2016
    rng = np.random.default_rng(5)
    dev = draw_devices(cfg, (12, 9), rng)
    x, d = rng.uniform(-1, 1, (300, 9)), rng.normal(0, 0.03, (300, 12))
    counts = {}
    for impl in IMPLEMENTATIONS:
        s = run(impl, np.zeros((12, 9)), x, d, 0.05, cfg, dev, np.random.default_rng(6))
        counts[impl] = s
    ref = counts["reference"]
    for impl, s in counts.items():
        assert s.updates == 300 and s.bl == ref.bl  # BL is deterministic given x and d
        for name in ("x_pulses", "d_pulses", "coincidences"):
            # Poisson-like counts of thousands: 5 % is > 4 standard errors.
            assert getattr(s, name) == pytest.approx(getattr(ref, name), rel=0.05), (impl, name)


# ----------------------------------------------------------------------------- closed forms
def test_soft_bounds_closed_form_is_exact_without_noise():
    cfg = DeviceConfig(type="soft_bounds", dw_min_std=0.0)
    rng = np.random.default_rng(2)
    dev = draw_devices(cfg, (4, 5), rng)
    w = np.clip(rng.uniform(-0.3, 0.3, (4, 5)), dev.w_min, dev.w_max)  # a device is within its bounds
    n_up = rng.integers(0, 40, (4, 5)).astype(float)
    stepwise = w.copy()
    for k in range(40):
        step_once(stepwise, n_up > k, np.zeros_like(w, bool), dev, rng)
    closed = w.copy()
    pulses.apply_counts(closed, n_up, np.zeros_like(w), dev, rng)
    np.testing.assert_allclose(closed, stepwise, rtol=0, atol=1e-12)


def test_hard_bounds_without_noise_count_exactly():
    cfg = PLAIN.model_copy(update={"dw_min_std": 0.0})
    dev = draw_devices(cfg, (2, 2), np.random.default_rng(0))
    w = np.array([[0.0, 0.0], [0.599, -0.599]])
    pulses.apply_counts(w, np.array([[3.0, 0], [5, 0]]), np.array([[0, 7.0], [0, 5]]), dev, np.random.default_rng(0))
    np.testing.assert_allclose(w, [[0.003, -0.007], [0.6, -0.6]], atol=1e-15)


def test_kernel_normal_draws_are_standard_normal():
    """The kernel's ziggurat: 400,000 draws; mean and variance within 5 standard errors,
    tail mass beyond 3 sigma within 10 % (expected 1080 draws, Poisson sd 33)."""
    from numba import njit

    @njit
    def draw(n, state):
        out = np.empty(n)
        rs = fastrandom.load(state)
        for i in range(n):
            out[i], rs = fastrandom.normal(rs)
        return out

    z = draw(400_000, np.array([12345, 678, 91011, 1213], dtype=np.uint64))
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / z.size)
    assert np.mean(np.abs(z) > 3) == pytest.approx(2 * 0.0013499, rel=0.1)
    assert np.mean(np.abs(z) > 3.7) > 0  # the tail beyond the ziggurat's base strip is drawn


def test_aggregated_mode_differs_from_exact_only_at_the_bounds():
    """Measured (rpuarch.device.modes): far from the bounds the two modes agree (few devices beyond
    4.5 standard errors, as chance allows); with every weight at a bound, aggregated mode lets
    steps into the bound cancel against steps out of it and leaves many more weights there."""
    from rpuarch.device.modes import compare_modes

    typical = compare_modes("gokmen-vlasov-2016", "typical", batch=400, replicates=6)
    saturated = compare_modes("gokmen-vlasov-2016", "saturated", batch=400, replicates=6)
    assert typical.significant < 0.01 and typical.bias < 1.5 * typical.bias_floor
    # measured at this size: 54 % vs 29 % at a bound, bias 4.5 steps against a floor of 2.6
    assert saturated.at_bound_aggregated > 1.5 * saturated.at_bound_exact
    assert saturated.bias > 1.3 * saturated.bias_floor
