"""Tiki-Taka, TTv2 and c-TTv2 on the tile: the fast paths against the per-pulse reference, the
transfer's closed forms, the counters, the configuration's refusals.

Statistical tests use fixed seeds. As in test_pulse_update.py: z-scores of the per-device means
against their standard error, |z| < 4.5 over every device of A, C and the buffer (false-alarm
probability <= N * 6.8e-6), and pooled variances within 15 % (their standard error is about 3 %
at 200 replicates of 30 devices).
"""

import numpy as np
import pytest

from rpuarch.config import DeviceConfig, IOConfig, IOSection, UpdateConfig, resolve
from rpuarch.config.transfer import TransferConfig
from rpuarch.device.reference import TransferState, reference_transfer
from rpuarch.device.transfer import TransferTile, transfer_settings
from rpuarch.errors import ConfigError

from test_pulse_update import _assert_same_distribution

UP = UpdateConfig(desired_bl=10)
IO = IOSection()
OUT, IN = 6, 5
# Transfers every 4 updates, columns in turn; lrs that move C by several steps per transfer.
ALGORITHMS = {
    "tiki-taka": dict(scale_transfer_lr=False, transfer_lr=0.05),
    "ttv2": dict(scale_transfer_lr=False, transfer_lr=0.02, forget_buffer=False, momentum=0.2, auto_granularity=40),
    "c-ttv2": dict(scale_transfer_lr=False, transfer_lr=0.02, in_chop_prob=0.5, out_chop_prob=0.3),
}


def _device(algorithm, **transfer):
    return DeviceConfig(algorithm=algorithm, transfer=TransferConfig(transfer_every=4, units_in_mbatch=False, **transfer))


def _sequence(lr_scale=1.0):
    """40 updates with a consistent sign per row and column: A grows towards its bounds (about
    0.3 after 40 updates at lr 0.5) and its columns are read twice each."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 1, (40, IN)) * np.sign(rng.normal(size=(1, IN)))
    d = np.abs(rng.normal(0, 0.05, (40, OUT))) * np.sign(rng.normal(size=(1, OUT)))
    w0 = rng.uniform(-0.3, 0.3, (OUT, IN))
    return x, d, w0, 0.5 * lr_scale


def _tile(device, mode="exact", backend="numba", rng_seed=7):
    settings = transfer_settings(device, IO, UP, streams=1)
    tile = TransferTile(OUT, IN, device, IO, UP, np.random.default_rng(rng_seed), mode, settings)
    tile.fast.backend = tile.slow.backend = tile._view.backend = backend
    return tile


def _state(tile):
    buffer = tile.buffer if tile.buffer is not None else np.zeros((OUT, IN))
    return np.stack([tile.fast.weights, tile.slow.weights, buffer])


def _fast(device, mode, backend, replicates, seed, lr_scale=1.0):
    x, d, w0, lr = _sequence(lr_scale)
    out = []
    for r in range(replicates):
        tile = _tile(device, mode, backend)  # the same devices every time
        tile.reseed(np.random.default_rng([seed, r]))
        tile.weights = w0
        tile.update(x, d, lr)
        out.append(_state(tile))
    return np.array(out)


def _reference(device, replicates, seed, lr_scale=1.0):
    x, d, w0, lr = _sequence(lr_scale)
    tile = _tile(device)
    tile.weights = w0
    out = []
    for r in range(replicates):
        state = TransferState(np.zeros((OUT, IN)), tile.slow.weights.copy(), np.zeros((OUT, IN)), np.ones(IN), np.ones(OUT))
        reference_transfer(state, x, d, lr, device.dw_min, UP, tile.settings, tile.fast.devices, tile.slow.devices,
                           np.random.default_rng([seed, r]))
        out.append(np.stack([state.fast, state.slow, state.buffer]))
    return np.array(out)


# ----------------------------------------------------------------------------- against the reference
@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_exact_transfer_matches_the_per_pulse_reference(algorithm, backend):
    """200 replicates of 40 updates and 10 transfers, A driven towards its bounds: A, C and the
    buffer of the fast path and of the per-pulse reference agree in distribution."""
    device = _device(algorithm, **ALGORITHMS[algorithm])
    fast = _fast(device, "exact", backend, 200, seed=11)
    slow = _reference(device, 200, seed=12)
    start = _tile(device)
    start.weights = _sequence()[2]
    assert np.abs(fast[:, 1].mean(0) - start.slow.weights).max() > 1.5 * device.dw_min  # the transfers moved C
    _assert_same_distribution(fast, slow)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_aggregated_transfer_matches_the_reference_away_from_the_bounds(algorithm):
    """Aggregated mode counts A's coincidences between two transfers at once: the same
    distribution as pulse by pulse while no device reaches a bound (lr 5x smaller)."""
    device = _device(algorithm, **ALGORITHMS[algorithm])
    fast = _fast(device, "aggregated", "numba", 200, seed=21, lr_scale=0.2)
    slow = _reference(device, 200, seed=22, lr_scale=0.2)
    _assert_same_distribution(fast, slow)


@pytest.mark.parametrize("algorithm, transfer", [
    ("ttv2", dict(ALGORITHMS["ttv2"], transfer_every=1)),  # aihwkit's TTv2: a transfer after every update
    ("ttv2", dict(transfer_every=3, n_reads_per_transfer=2, forget_buffer=True, gamma=0.2, scale_transfer_lr=True)),
    ("c-ttv2", dict(ALGORITHMS["c-ttv2"], transfer_every=1)),
    ("c-ttv2", dict(ALGORITHMS["c-ttv2"], transfer_forward=IOConfig(is_perfect=True))),
])
def test_one_kernel_call_gives_the_transfer_loops_numbers(algorithm, transfer, monkeypatch):
    """TTv2 and c-TTv2 in exact mode run a batch in one compiled call: A, C, the buffer, the
    choppers, every counter and the random streams afterwards equal the Python loop's, bit for bit,
    over calls whose sizes do not divide the transfer period."""
    device = DeviceConfig(algorithm=algorithm, transfer=TransferConfig(units_in_mbatch=False, **transfer))
    x, d, w0, lr = _sequence()

    def run(fused):
        tile = _tile(device)
        assert tile._fused
        if not fused:
            monkeypatch.setattr(TransferTile, "_fused", property(lambda self: False))
        tile.weights = w0
        for start, stop in ((0, 7), (7, 8), (8, 25), (25, 40)):
            tile.update(x[start:stop], d[start:stop], lr)
        monkeypatch.undo()
        return tile

    fused, loop = run(True), run(False)
    assert loop.transfers > 5 and np.any(loop.buffer != 0) and np.any(loop.slow.weights != w0)
    for name in ("weights", "_stream"):
        for part in ("fast", "slow"):
            assert np.array_equal(getattr(getattr(fused, part), name), getattr(getattr(loop, part), name)), (part, name)
    assert np.array_equal(fused.weights, loop.weights) and np.array_equal(fused.buffer, loop.buffer)
    assert np.array_equal(fused.in_chopper, loop.in_chopper) and np.array_equal(fused.out_chopper, loop.out_chopper)
    assert fused.activity == loop.activity
    assert (fused.since_transfer, fused.next_column, fused.transfers) == (loop.since_transfer, loop.next_column, loop.transfers)
    assert fused.rng.random() == loop.rng.random()  # the choppers took the same draws
    if algorithm == "c-ttv2":
        assert np.any(loop.in_chopper < 0)


# ----------------------------------------------------------------------------- closed forms
PERFECT_READ = IOConfig(is_perfect=True)


def _exact(algorithm, **transfer):
    """No device variation or pulse noise, a perfect transfer read: outcomes computable by hand."""
    return DeviceConfig(dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0,
                        algorithm=algorithm, transfer=TransferConfig(transfer_every=1, units_in_mbatch=False,
                                                                     scale_transfer_lr=False,
                                                                     transfer_forward=PERFECT_READ, **transfer))


def test_tiki_taka_transfer_adds_lr_times_the_read_column():
    """With a perfect read and no device variation, one transfer moves C[:, j] by transfer_lr *
    A[:, j] in expectation (lr_T max|A| / dw_min = 8 pulses, below BL = 10: no truncation):
    400 replicates, |z| < 4.5."""
    device = _exact("tiki-taka", n_reads_per_transfer=2, transfer_lr=0.04)
    changes = []
    for r in range(400):
        tile = _tile(device)
        tile.reseed(np.random.default_rng([5, r]))
        tile.weights = np.zeros((OUT, IN))
        a = np.random.default_rng(1).uniform(-0.2, 0.2, (OUT, IN))
        tile.fast.weights = a
        tile._transfer(lr=1.0)
        changes.append(tile.slow.weights.copy())
    changes = np.array(changes)
    expected = np.zeros((OUT, IN))
    expected[:, :2] = 0.04 * a[:, :2]  # the first transfer reads columns 0 and 1
    se = changes.std(0, ddof=1) / np.sqrt(400)
    moved = se > 0
    assert np.all(changes.mean(0)[~moved] == expected[~moved])
    assert np.max(np.abs((changes.mean(0) - expected)[moved] / se[moved])) < 4.5
    assert tile.next_column == 2 and tile.transfers == 1


def test_ttv2_buffer_steps_and_keeps_the_remainder():
    """Perfect read, deterministic write (BL 1, one pulse per step, no noise): H accumulates
    lr_T * A[:, j]; where |H| reaches the threshold, C takes one dw_min step in its direction and
    H keeps momentum * H (forget_buffer) -- computed by hand."""
    device = _exact("ttv2", transfer_lr=0.5, thres_scale=2.0, momentum=0.25)
    tile = _tile(device)
    tile.weights = np.zeros((OUT, IN))
    a = np.zeros((OUT, IN))
    a[:, 0] = [0.001, 0.003, -0.005, 0.0039, -0.0041, 0.02]  # H += 0.5 a; threshold 0.002
    tile.fast.weights = a
    tile._transfer(lr=1.0)
    h = 0.5 * a[:, 0]
    steps = np.clip(np.trunc(h / 0.002), -1, 1)
    np.testing.assert_allclose(tile.slow.weights[:, 0], 0.001 * steps, atol=1e-15)
    np.testing.assert_allclose(tile.buffer[:, 0], np.where(steps != 0, 0.25 * h, h), atol=1e-15)
    assert np.all(tile.slow.weights[:, 1:] == 0) and np.all(tile.buffer[:, 1:] == 0)


def test_chopped_reads_undo_the_choppers_signs():
    """c-TTv2: A is written with x and d times the choppers and read back times the same signs, so
    the buffer sees the gradient's sign whatever the choppers are; a chopper flips after its
    column's read with in_chop_prob (1 here: every read)."""
    device = _exact("c-ttv2", transfer_lr=1.0, in_chop_prob=1.0, thres_scale=1e6)
    tile = _tile(device)
    tile.weights = np.zeros((OUT, IN))
    tile.in_chopper[0] = -1.0
    tile.out_chopper[:3] = -1.0
    x = np.zeros((1, IN))
    x[0, 0] = 1.0
    d = np.full((1, OUT), -0.01)  # W -= lr d x: the gradient step raises column 0
    tile.update(x, d, lr=1.0)  # one update (10 coincidences per device), then a transfer of column 0
    a = tile.fast.weights[:, 0]
    assert np.all(a[:3] > 0) and np.all(a[3:] < 0)  # chopped: in (-1) times out (-1, -1, -1, 1, 1, 1)
    assert np.all(tile.buffer[:, 0] > 0)  # demodulated: the gradient's direction in every row
    assert tile.in_chopper[0] == 1.0  # flipped after the read


def test_gamma_weights_the_fast_array_in_what_the_network_reads():
    device = _device("tiki-taka", gamma=0.3)
    tile = _tile(device)
    rng = np.random.default_rng(2)
    tile.weights = rng.uniform(-0.2, 0.2, (OUT, IN))
    assert np.all(tile.fast.weights == 0)
    x, d, _, lr = _sequence()
    tile.update(x[:6], d[:6], lr)
    np.testing.assert_allclose(tile.weights, 0.3 * tile.fast.weights + tile.slow.weights)
    tile._view.io = IOSection(forward=IOConfig(is_perfect=True))
    np.testing.assert_allclose(tile.forward(x[:3]), x[:3] @ tile.weights.T)


def test_transfers_are_counted_across_calls():
    device = _device("tiki-taka", n_reads_per_transfer=2)
    tile = _tile(device)
    tile.weights = np.zeros((OUT, IN))
    x, d, _, lr = _sequence()
    tile.update(x[:3], d[:3], lr)  # 3 updates: no transfer yet
    tile.update(x[3:10], d[3:10], lr)  # 10 in all: transfers after the 4th and the 8th
    act = tile.activity
    assert act.updates == 10 and act.transfers == 2
    assert act.transfer_reads == 4 and act.transfer_outputs == 4 * OUT and act.transfer_updates == 4
    assert tile.next_column == 4 and tile.since_transfer == 2
    assert act.forward_vectors == 0  # the transfer reads are not reads of W


def test_units_in_mbatch_counts_streams():
    device = DeviceConfig(algorithm="tiki-taka", transfer=TransferConfig(transfer_every=2))
    assert transfer_settings(device, IO, UP, streams=32).every == 64  # tiki-taka: mini-batches by default
    for buffered in ("ttv2", "c-ttv2"):  # aihwkit's TTv2 and c-TTv2 presets: rank-1 updates
        assert transfer_settings(DeviceConfig(algorithm=buffered, transfer=TransferConfig(transfer_every=2)),
                                 IO, UP, streams=32).every == 2
    chopped = DeviceConfig(algorithm="c-ttv2", transfer=TransferConfig(transfer_every=2, auto_granularity=1000))
    assert transfer_settings(chopped, IO, UP, 32).threshold(0.001, 125) == pytest.approx(0.001 * 1000 / (125 * 2))
    assert transfer_settings(chopped, IO, UP, 32).write.desired_bl == 1  # aihwkit's buffered default
    assert transfer_settings(device, IO, UP, 32).read_io.noise_management == "none"


# ----------------------------------------------------------------------------- configuration
def test_sgd_devices_dump_as_before():
    """The dump of an sgd device (hashed into run, twin and checkpoint keys) has no transfer fields."""
    assert "algorithm" not in DeviceConfig().model_dump() and "transfer" not in DeviceConfig().model_dump_json()
    dumped = DeviceConfig(algorithm="ttv2").model_dump(mode="json")
    assert dumped["algorithm"] == "ttv2" and dumped["transfer"]["thres_scale"] == 1.0
    assert DeviceConfig.model_validate(dumped) == DeviceConfig(algorithm="ttv2")


@pytest.mark.parametrize("device, field", [
    ({"type": "ideal", "algorithm": "tiki-taka"}, "device.algorithm"),
    ({"algorithm": "c-ttv2", "transfer": {"gamma": 0.1}}, "device.transfer"),
    ({"algorithm": "c-ttv2", "transfer": {"n_reads_per_transfer": 2}}, "device.transfer"),
    ({"algorithm": "tiki-taka", "transfer": {"transfer_every": 0}}, "device.transfer.transfer_every"),
    ({"algorithm": "adam"}, "device.algorithm"),
])
def test_bad_combinations_name_the_field(device, field):
    with pytest.raises(ConfigError) as error:
        resolve({"device": device}, "w.yaml")
    assert error.value.field == field
