"""One training run on two threads: the RPU network and its twin side by side, the same numbers as
one thread, Ctrl-C and divergence handled as on one thread."""

from __future__ import annotations

import json
import signal
import threading

import pytest

from rpuarch.cli import main
from rpuarch.errors import ConfigError, TrainingDiverged
from rpuarch.nn import checkpoint
from rpuarch.nn import model as model_module
from rpuarch.nn import train as train_module
from rpuarch.nn.train import default_threads

from test_train_loop import numbers, run, write_workload


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    """Two layers with dropout: every random stream of the run (tiles of both networks, dropout)."""
    tmp = tmp_path_factory.mktemp("threads")
    path = write_workload(tmp, chars=6_000)
    overrides = ["network.layers=2", "network.dropout=0.1", "training.epochs=2"]
    return path, overrides, run(path, overrides, threads=1)


def test_two_threads_give_the_numbers_of_one(two_layers):
    path, overrides, one = two_layers
    seen = set()
    original = model_module.CharLSTM.train_window

    def noting_the_thread(self, *args):
        seen.add(threading.current_thread().name)
        return original(self, *args)

    model_module.CharLSTM.train_window = noting_the_thread
    try:
        two = run(path, overrides, threads=2)
    finally:
        model_module.CharLSTM.train_window = original
    assert numbers(two) == numbers(one)
    assert len(seen) == 2 and threading.main_thread().name not in seen  # the networks did train apart


def test_ctrl_c_on_two_threads_checkpoints_and_resume_is_exact(two_layers, tmp_path, monkeypatch):
    path, overrides, straight = two_layers
    windows = straight["training"]["windows_per_epoch"]
    out = tmp_path / "out"
    calls = {"n": 0}
    lock = threading.Lock()
    original = model_module.CharLSTM.train_window
    handled = threading.Event()

    class ObservedInterrupt(train_module._Interrupt):
        """The real handler, with a note of when it has run (in the main thread)."""

        @property
        def requested(self) -> bool:
            return handled.is_set()

        @requested.setter
        def requested(self, value: bool) -> None:
            if value:
                handled.set()

    def interrupted_once(self, *args):
        with lock:
            calls["n"] += 1
            now, after = calls["n"] == windows, calls["n"] > windows  # both networks are in their first epoch
        if now:
            signal.raise_signal(signal.SIGINT)  # the real handler: finish the windows, save, stop
        if after:
            # Python runs the handler in the main thread when that thread next runs: on a loaded
            # machine the workers could finish the epoch first. Hold them until it has.
            assert handled.wait(timeout=60), "the SIGINT handler did not run within 60 s"
        return original(self, *args)

    monkeypatch.setattr(train_module, "_Interrupt", ObservedInterrupt)
    monkeypatch.setattr(model_module.CharLSTM, "train_window", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        run(path, overrides, out_dir=out, threads=2)
    assert checkpoint.path_in(out).is_file() and not (out / "train.json").exists()
    assert calls["n"] < 2 * windows  # stopped mid-epoch, not at its end
    monkeypatch.undo()  # the real train_window and interrupt for the resumed run
    assert numbers(run(path, overrides, out_dir=out, resume=True, threads=2)) == numbers(straight)


def test_one_network_diverging_stops_the_other_and_names_it(two_layers, monkeypatch):
    path, overrides, one = two_layers
    calls = {"fp": 0}
    original = model_module.CharLSTM.train_window

    def rpu_diverges(self, ids, targets, state, *args):
        if self.arrays[0].tiles[0].is_ideal:
            calls["fp"] += 1
            return original(self, ids, targets, state, *args)
        return float("nan"), state

    monkeypatch.setattr(model_module.CharLSTM, "train_window", rpu_diverges)
    with pytest.raises(TrainingDiverged) as info:
        run(path, overrides, threads=2)
    assert info.value.info["network"] == "rpu"
    assert calls["fp"] < one["training"]["windows_per_epoch"]  # the twin stopped within its first epoch


def test_the_thread_count_comes_from_the_environment_or_the_cli(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("RPUARCH_THREADS", raising=False)
    assert default_threads() == 1
    monkeypatch.setenv("RPUARCH_THREADS", "2")
    assert default_threads() == 2
    monkeypatch.setenv("RPUARCH_THREADS", "two")
    with pytest.raises(ConfigError, match="RPUARCH_THREADS"):
        default_threads()
    path = write_workload(tmp_path)
    assert main(["train", str(path), "--threads", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--threads" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_bench_train_times_a_workloads_networks_alone_and_side_by_side(tmp_path, capsys):
    path = write_workload(tmp_path)
    out = tmp_path / "bench.json"
    assert main(["bench", "train", "--workload", str(path), "--seconds", "0.01", "--json", str(out)]) == 0
    cases = json.loads(out.read_text())["cases"]
    assert [c["name"] for c in cases] == [
        "RPU exact, 4 streams, 1 thread", "FP twin, 4 streams, 1 thread",
        "RPU exact, 2 threads (updates overlapped)", "RPU and twin side by side, 2 threads"]
    assert all(c["wall"] > 0 and c["cpu"] > 0 and c["windows"] >= 3 for c in cases)
    assert cases[3]["windows"] == cases[0]["windows"]  # side by side: the RPU network's windows alone, each
    assert "Both networks on 2 threads" in capsys.readouterr().out
    assert main(["bench", "train", "--workload", str(path), "--threads", "0"]) == 2
