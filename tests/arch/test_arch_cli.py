"""``rpuarch estimate``: outputs on success, exit status 2 and nothing written on bad hardware."""

import json
from pathlib import Path
from collections import defaultdict

import pytest

from rpuarch.cli import main

WORKLOAD = """\
name: cli-test
dataset: {name: tinyshakespeare, max_chars: 5000}
network: {layers: 1, hidden: 8, vocab_size: 20}
training: {streams: 2, seq_length: 5}
baselines: [xeon-e5-2699v4, v100]
"""


@pytest.fixture
def workload_file(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(WORKLOAD)
    return path


def test_estimate_writes_json_and_a_valid_trace(workload_file, tmp_path, capsys):
    out, trace = tmp_path / "out" / "estimate.json", tmp_path / "trace.json"
    status = main(["estimate", str(workload_file), "--json", str(out), "--trace", str(trace)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "acceleration factor" in printed and "V100" in printed
    result = json.loads(out.read_text())
    assert result["hardware"]["tiles"] == 2
    assert {b["name"] for b in result["baselines"]} == {"Xeon E5-2699 v4", "V100"}
    events = json.loads(trace.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    assert spans and all(e["dur"] > 0 for e in spans)
    assert {e["cat"] for e in spans} == {"forward", "backward", "update"}
    # Events of one track never overlap (one unit of a resource does one thing at a time).
    by_track = defaultdict(list)
    for e in spans:
        by_track[e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
    for intervals in by_track.values():
        intervals.sort()
        assert all(b[0] >= a[1] - 1e-9 for a, b in zip(intervals, intervals[1:]))


@pytest.mark.parametrize("override, field", [
    ("chip.tiles=0", "chip.tiles"),
    ("tile.adc.energy_pJ=-1", "tile.adc.energy_pJ"),
    ("chip.memory.energy_pJ_per_byte=-0.5", "chip.memory.energy_pJ_per_byte"),
    ("tile.array.update_voltage_V=0.9", "tile.array"),
    ("tile.rows=16", "chip.tiles"),
    ("network.vocab_size=null", "network.vocab_size"),
])
def test_bad_hardware_exits_2_and_writes_nothing(workload_file, tmp_path, capsys, override, field):
    out, trace = tmp_path / "estimate.json", tmp_path / "trace.json"
    extra = {"tile.rows=16": ["--set", "chip.tiles=3"],  # no vocabulary and no corpus to read it from:
             "network.vocab_size=null": ["--set", "dataset.name=null", "--set", f"dataset.path={tmp_path / 'gone.txt'}"]}
    extra = extra.get(override, [])
    status = main(["estimate", str(workload_file), "--set", override, *extra, "--json", str(out), "--trace", str(trace)])
    assert status == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
    assert not out.exists() and not trace.exists()
    assert list(tmp_path.iterdir()) == [workload_file]


@pytest.mark.skipif(not Path("/usr/include/linux").is_dir(), reason="the quickstart reads the installed kernel headers")
def test_estimate_without_arguments_estimates_the_quickstart(capsys):
    assert main(["estimate"]) == 0
    printed = capsys.readouterr().out
    assert "quickstart: the chip" in printed and "acceleration factor" in printed


def shipped_workloads():
    """The workload files under workloads/ (not the study specifications beside them)."""
    import yaml

    from rpuarch.config.loader import DATA_ROOT

    files = sorted((DATA_ROOT / "workloads").glob("*.yaml")) + sorted((DATA_ROOT / "workloads" / "paper").glob("*.yaml"))
    return [f for f in files if "study" not in yaml.safe_load(f.read_text())]


@pytest.mark.parametrize("path", shipped_workloads(), ids=lambda p: p.name)
def test_every_shipped_workload_estimates(path, monkeypatch, tmp_path):
    # Named corpora come from ../shared/data (the same files, checked by sha256) when present.
    shared = Path(__file__).resolve().parents[3] / "shared" / "data"
    text = path.read_text()
    if "warpeace" in text or "tinyshakespeare" in text:
        if not shared.is_dir():
            pytest.skip("../shared/data (the named corpora) is not present")
        monkeypatch.setenv("RPUARCH_CACHE", str(shared))
    if "linux-headers" in text and not Path("/usr/include/linux").is_dir():
        pytest.skip("the installed kernel headers are not present")
    out = tmp_path / "e.json"
    assert main(["estimate", str(path), "--json", str(out)]) == 0
    hw = json.loads(out.read_text())["hardware"]
    assert hw["time_per_char_s"] > 0 and hw["inputs"]["vocab_size"] > 1


def test_the_quickstart_chip_passes_every_sizing_check_and_limit():
    """The embedded default must not greet a new user with warnings about its own chip (the 2016
    paper's 4096-row tile fails the SNR rule taken literally; that design is a variant to try)."""
    from rpuarch.arch.estimate import estimate
    from rpuarch.config import load_workload

    hardware = estimate(load_workload("quickstart").workload, vocab_size=96, train_chars=96_000)["hardware"]
    assert hardware["warnings"] == []
    checks = [check["ok"] for check in hardware["checks"].values()]
    assert checks and all(checks)
