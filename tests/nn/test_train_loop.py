"""The training run: train.json schema, reproducibility, exact resume (also after Ctrl-C),
divergence handling, the floating-point twin and tiles split over physical arrays."""

from __future__ import annotations

import json
import math
import signal

import numpy as np
import pytest

from rpuarch.cli import main
from rpuarch.config import load_workload
from rpuarch.errors import TrainingDiverged, UserError
from rpuarch.nn import checkpoint
from rpuarch.nn import model as model_module
from rpuarch.nn.train import train

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far"]


def synthetic_text(chars: int, seed: int = 0) -> str:
    """Random sentences over ten words: learnable structure (spelling, spaces, full stops)."""
    rng = np.random.default_rng(seed)
    out, size = [], 0
    while size < chars:
        sentence = " ".join(rng.choice(WORDS, rng.integers(3, 8))).capitalize() + ". "
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:chars]


def write_workload(tmp_path, body: str = "", chars: int = 12_000):
    text = tmp_path / "text.txt"
    if not text.exists():
        text.write_text(synthetic_text(chars))
    path = tmp_path / "w.yaml"
    path.write_text(
        "name: tiny\nseed: 5\n"
        f"dataset: {{path: {text}}}\n"
        "network: {layers: 1, hidden: 8}\n"
        "training: {epochs: 2, lr: 0.1, streams: 4, seq_length: 10, update_mode: exact, eval_chars: 400, eval_streams: 4}\n"
        "device: {preset: gokmen-vlasov-2016}\n" + body
    )
    return path


def run(path, overrides=(), **kwargs):
    return train(load_workload(path, list(overrides)), progress=False, **kwargs)


def numbers(result: dict) -> dict:
    """What must not change between equivalent runs (timing and resume count excluded)."""
    return {k: result[k] for k in ("accuracy", "activity", "network", "data")}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    path = write_workload(tmp)
    out = tmp / "out"
    return path, out, run(path, out_dir=out)


def test_train_json_schema(tiny):
    path, out, result = tiny
    assert json.loads((out / "train.json").read_text()) == json.loads(json.dumps(result))
    assert result["workload"]["name"] == "tiny" and len(result["workload"]["sha256"]) == 64
    assert result["seed"] == 5
    net = result["network"]
    v = result["data"]["vocab_size"]
    assert net["vocab_size"] == v
    assert [layer["name"] for layer in net["layers"]] == ["lstm0", "softmax"]
    assert net["bias"] == "digital" and net["arrays"] == "combined"  # the defaults: no bias columns
    assert net["layers"][0]["logical_shape"] == [32, v + 8] and net["layers"][1]["logical_shape"] == [v, 8]
    assert net["weights"] == 32 * (v + 8) + v * 8 and net["digital_biases"] == 32 + v and net["physical_tiles"] == 2
    for side in ("rpu", "fp"):
        acc = result["accuracy"][side]
        assert [c["epoch"] for c in acc["curve"]] == [1, 2]
        assert acc["test_loss"] == acc["curve"][-1]["test_loss"]
        assert acc["test_bpc"] == pytest.approx(acc["test_loss"] / math.log(2))
        assert all(math.isfinite(c[k]) for c in acc["curve"] for k in ("train_loss", "valid_loss", "test_loss"))
        assert result["timing"][side]["chars_per_s"] > 0
        # Each epoch's time and the machine's load at its end (the measured-host baseline's record).
        epochs = result["timing"][side]["epochs"]
        assert [e["train_chars"] for e in epochs] == [9560, 9560] and all(e["cpus"] >= 1 for e in epochs)
        assert sum(e["train_s"] for e in epochs) == pytest.approx(result["timing"][side]["train_s"])
        assert result["timing"][side]["host"]["statistic"] == "median of 2 epochs' training speeds"
    assert result["data"]["chars"]["train"] == 9600 and result["data"]["text"]["files"] == 1
    assert result["diverged"] is None


def test_activity_counts_training_only_and_sums_over_arrays(tiny):
    _, _, result = tiny
    act = result["activity"]
    arrays = act["arrays"]
    for key in ("forward_vectors", "updates", "coincidences", "x_pulses"):
        assert act[key] == sum(a[key] for a in arrays.values())
    t = result["training"]
    # 9600 training chars in 4 streams of 10 steps: 239 windows a epoch, one rank-1 update per
    # step and stream on every array.
    assert t["windows_per_epoch"] == 239 and t["chars_per_epoch"] == 9560
    assert arrays["lstm0"]["updates"] == arrays["softmax"]["updates"] == 2 * 9560
    assert arrays["lstm0"]["forward_vectors"] == 2 * 9560
    assert act["evaluation"]["forward_vectors"] > 0 and act["evaluation"]["updates"] == 0
    assert arrays["lstm0"]["coincidences"] > 0


def test_same_seed_same_numbers_other_seed_other_numbers(tiny, tmp_path):
    path, _, result = tiny
    again = run(path, ["training.epochs=2"])
    assert numbers(again) == numbers(result)
    other = run(path, ["seed=6"])
    assert other["accuracy"]["rpu"]["test_loss"] != result["accuracy"]["rpu"]["test_loss"]


def test_resume_after_an_epoch_gives_the_uninterrupted_numbers(tiny, tmp_path):
    path, _, straight = tiny
    out = tmp_path / "out"
    first = run(path, ["training.epochs=1"], out_dir=out)
    assert len(first["accuracy"]["rpu"]["curve"]) == 1
    resumed = run(path, out_dir=out, resume=True)
    assert resumed["resumed"] == 1
    assert numbers(resumed) == numbers(straight)


def test_ctrl_c_checkpoints_mid_epoch_and_resume_is_exact(tiny, tmp_path, monkeypatch):
    path, _, straight = tiny
    out = tmp_path / "out"
    original = model_module.CharLSTM.train_window
    monkeypatch.setattr(model_module.CharLSTM, "train_window", _interrupting_at(300))  # the RPU network's second epoch
    with pytest.raises(KeyboardInterrupt):
        run(path, out_dir=out)
    assert checkpoint.path_in(out).is_file() and not (out / "train.json").exists()
    monkeypatch.setattr(model_module.CharLSTM, "train_window", original)
    resumed = run(path, out_dir=out, resume=True)
    assert numbers(resumed) == numbers(straight)


def _interrupting_at(window: int):
    """CharLSTM.train_window, with Ctrl-C at its ``window``-th call (the real handler: finish the
    window, save, stop)."""
    calls = {"n": 0}
    original = model_module.CharLSTM.train_window

    def train_window(self, *args):
        calls["n"] += 1
        if calls["n"] == window:
            signal.raise_signal(signal.SIGINT)
        return original(self, *args)

    return train_window


def test_divergence_stops_names_the_knob_and_keeps_the_checkpoint(tiny, tmp_path, monkeypatch):
    path, _, _ = tiny
    out = tmp_path / "out"
    run(path, ["training.epochs=1"], out_dir=out)
    saved = checkpoint.path_in(out).read_bytes()
    written = (out / "train.json").read_bytes()
    original = model_module.CharLSTM.train_window

    def nan_loss(self, ids, targets, state, lr, clip_norm=None, pool=None):
        return float("nan"), state

    monkeypatch.setattr(model_module.CharLSTM, "train_window", nan_loss)
    with pytest.raises(TrainingDiverged, match=r"training.lr \(now 0.1; try 0.025\).*checkpoint is kept") as info:
        run(path, out_dir=out, resume=True)
    assert info.value.info["network"] == "rpu" and info.value.info["epoch"] == 2
    assert checkpoint.path_in(out).read_bytes() == saved
    assert (out / "train.json").read_bytes() == written  # the one-epoch result, not overwritten
    monkeypatch.setattr(model_module.CharLSTM, "train_window", original)


def test_resume_refuses_another_workload(tiny, tmp_path):
    path, _, _ = tiny
    out = tmp_path / "out"
    run(path, ["training.epochs=1"], out_dir=out)
    with pytest.raises(UserError, match=r"device.up_down \(0.0 -> 0.02\)"):
        run(path, ["device.up_down=0.02"], out_dir=out, resume=True)
    with pytest.raises(UserError, match="nothing to resume"):
        run(path, out_dir=tmp_path / "empty", resume=True)


def test_ideal_preset_makes_the_rpu_network_its_twin(tmp_path):
    # Same code, same initial weights, ideal tiles on both sides: identical curves.
    result = run(write_workload(tmp_path), ["device.preset=ideal", "training.epochs=1", "network.dropout=0.3"])
    assert result["accuracy"]["rpu"]["curve"] == result["accuracy"]["fp"]["curve"]


def test_arrays_larger_than_a_tile_are_split_and_train(tmp_path):
    result = run(write_workload(tmp_path), ["tile.rows=12", "tile.cols=16", "training.epochs=1"])
    v = result["data"]["vocab_size"]
    lstm0, softmax = result["network"]["layers"]
    assert lstm0["tile_grid"] == [3, math.ceil((v + 8) / 16)] and softmax["tile_grid"] == [math.ceil(v / 12), 1]
    assert result["network"]["physical_tiles"] == lstm0["physical_tiles"] + softmax["physical_tiles"] > 2
    # Every tile of lstm0 receives every rank-1 update of the array.
    assert result["activity"]["arrays"]["lstm0"]["updates"] == lstm0["physical_tiles"] * result["training"]["chars_per_epoch"]
    assert math.isfinite(result["accuracy"]["rpu"]["test_loss"])


def test_cli_writes_train_json_and_refuses_bad_input(tmp_path, capsys):
    path = write_workload(tmp_path)
    out = tmp_path / "cli"
    assert main(["train", str(path), "--set", "training.epochs=1", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    result = json.loads((out / "train.json").read_text())
    assert result["seed"] == 3
    assert "RPU" in capsys.readouterr().out
    assert main(["train", str(path), "--set", "training.lr=-1", "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert not (tmp_path / "bad").exists()
    assert main(["train", str(path), "--resume", str(tmp_path / "none"), "--quiet"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_training_runs_with_one_blas_thread_and_restores_the_pool(tmp_path, monkeypatch):
    from rpuarch.blas import _openblas_apis

    apis = _openblas_apis()
    if not apis:
        pytest.skip("no OpenBLAS loaded in this process")
    initial = [get() for _, get in apis]
    seen = []
    train_window = model_module.CharLSTM.train_window

    def recording(self, *args):
        seen.append([get() for _, get in apis])
        return train_window(self, *args)

    monkeypatch.setattr(model_module.CharLSTM, "train_window", recording)
    try:
        for setter, _ in apis:
            setter(2)  # a pool of two, whatever this machine's default
        run(write_workload(tmp_path), ["training.epochs=1"])
        assert seen and all(counts == [1] * len(apis) for counts in seen)
        assert [get() for _, get in apis] == [2] * len(apis)
    finally:
        for (setter, _), n in zip(apis, initial):
            setter(n)


def test_a_network_too_large_for_memory_is_refused_before_anything_is_built(tmp_path):
    # 8 x 8192 on ~20 characters: about 4.3e9 weights, far beyond any test machine's memory.
    with pytest.raises(UserError, match=r"network.hidden.*GB of memory"):
        run(write_workload(tmp_path), ["network.hidden=8192", "network.layers=8"])


@pytest.mark.parametrize("algorithm", ["tiki-taka", "c-ttv2"])
def test_transfer_algorithms_resume_exactly_mid_epoch(tmp_path, monkeypatch, algorithm):
    """A, C, the buffer, the choppers and the transfer counters are checkpointed: Ctrl-C in the
    second epoch and a resume give the uninterrupted numbers, transfers included."""
    path = write_workload(tmp_path, chars=6_000)
    overrides = [f"device.algorithm={algorithm}", "device.transfer.in_chop_prob=0.5"]
    straight = run(path, overrides)
    assert straight["activity"]["transfers"] > 0
    out = tmp_path / "out"
    original = model_module.CharLSTM.train_window
    monkeypatch.setattr(model_module.CharLSTM, "train_window", _interrupting_at(150))  # the RPU network's second epoch
    with pytest.raises(KeyboardInterrupt):
        run(path, overrides, out_dir=out)
    monkeypatch.setattr(model_module.CharLSTM, "train_window", original)
    assert numbers(run(path, overrides, out_dir=out, resume=True)) == numbers(straight)
