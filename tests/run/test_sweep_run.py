"""Comparisons and sweeps over real (tiny) runs: outputs, the cache, failures, parallel points."""

import csv
import csv
import json
from pathlib import Path

import pytest

from rpuarch.cli import main
from rpuarch.sweep import LocalExecutor, compare, parse_axis, parse_variant, sweep

from conftest import write_workload


def test_sweep_writes_outputs_and_never_recomputes_a_finished_point(tmp_path):
    path = write_workload(tmp_path / "w")
    out = tmp_path / "sweep"
    axes = [parse_axis("device.up_down=0,0.3")]
    first = sweep(path, [], axes, out, LocalExecutor(1), progress=False)
    assert [p["status"] for p in first["points"]] == ["done", "done"]
    assert [p["values"]["device.up_down"] for p in first["points"]] == [0, 0.3]
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["device.up_down"] for r in rows] == ["0", "0.3"]
    assert float(rows[0]["accuracy.rpu.test_loss"]) == first["points"][0]["metrics"]["accuracy.rpu.test_loss"]
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "sweep.json").read_text()) == json.loads(json.dumps(first))
    for point in first["points"]:
        assert (Path(point["report_dir"]) / "report.json").is_file()
        assert Path(point["report_dir"]).parent == out / "points"

    # A wider grid: the two finished points come from the cache, only the new one runs.
    wider = sweep(path, [], [parse_axis("device.up_down=0,0.3,-0.3")], out, LocalExecutor(1), progress=False)
    assert [p["status"] for p in wider["points"]] == ["cached", "cached", "done"]
    assert [p["metrics"] for p in wider["points"][:2]] == [p["metrics"] for p in first["points"]]
    # Asymmetry is what was swept: it changed what the RPU network learnt.
    losses = [p["metrics"]["accuracy.rpu.test_loss"] for p in wider["points"]]
    assert len(set(losses)) == 3


def test_failed_point_is_recorded_and_the_others_finish(tmp_path, capsys):
    path = write_workload(tmp_path / "w", {"chip": {"tiles": 2}})
    out = tmp_path / "sweep"
    # hidden 8 fits two 64 x 64 tiles (one LSTM array, one softmax); hidden 40 needs more.
    status = main(["sweep", str(path), "--grid", "network.hidden=8,40", "--out", str(out), "--quiet"])
    assert status == 1
    document = json.loads((out / "sweep.json").read_text())
    assert [p["status"] for p in document["points"]] == ["done", "failed"]
    assert "chip.tiles" in document["points"][1]["error"]
    assert "Traceback" not in capsys.readouterr().err


def test_compare_side_by_side_with_best_values_in_bold(tmp_path):
    path = write_workload(tmp_path / "w", {"baselines": ["v100"]})
    out = tmp_path / "cmp"
    variants = [parse_variant("base"), parse_variant("tiles32:tile.rows=32,tile.cols=32")]
    document, table = compare(path, [], variants, out, LocalExecutor(1), progress=False)
    assert [v["name"] for v in document["variants"]] == ["base", "tiles32"]
    assert document["variants"][1]["overrides"] == ["tile.rows=32", "tile.cols=32"]
    tiles = [v["metrics"]["hardware.tiles"] for v in document["variants"]]
    md = (out / "comparison.md").read_text()
    assert "| metric | base | tiles32 |" in md and "**" in md
    area = [v["metrics"]["hardware.area_mm2"] for v in document["variants"]]
    row = next(r for r in table.rows if r[0] == "chip area")
    best = 1 + area.index(min(area))
    assert (table.rows.index(row), best) in table.bold and area[0] != area[1]
    assert tiles[0] is not None
    assert json.loads((out / "comparison.json").read_text())["variants"][0]["status"] == "done"
    # As a sweep does: a CSV row per variant with every metric, and a plot of the headline metrics.
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    assert [(r["variant"], r["overrides"], r["status"]) for r in rows] == [("base", "", "done"), ("tiles32", "tile.rows=32 tile.cols=32", "done")]
    assert float(rows[1]["hardware.area_mm2"]) == area[1]
    assert (out / "comparison.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_parallel_points_give_the_numbers_of_serial_points(tmp_path):
    path = write_workload(tmp_path / "w")
    axes = [parse_axis("seed=1,2")]
    serial = sweep(path, [], axes, tmp_path / "serial", LocalExecutor(1), progress=False)
    parallel = sweep(path, [], axes, tmp_path / "parallel", LocalExecutor(2), progress=False)
    drop = {"baselines.measured host.acceleration_factor", "baselines.measured host.energy_ratio"}
    strip = lambda doc: [{k: v for k, v in p["metrics"].items() if k not in drop} for p in doc["points"]]  # noqa: E731
    assert strip(serial) == strip(parallel)
    assert [p["status"] for p in parallel["points"]] == ["done", "done"]


def test_local_executor_counts_the_point_it_is_computing(monkeypatch):
    from rpuarch.sweep import executor as executor_module

    seen = []
    ex = executor_module.LocalExecutor(jobs=1)

    def fake_point(task):  # stands in for training: only the executor's bookkeeping is under test
        seen.append(ex.running())
        return executor_module.PointOutcome(task.key, task.label, error="not computed")

    monkeypatch.setattr(executor_module, "run_point", fake_point)
    tasks = [executor_module.PointTask(key=str(i), resolved_sha256=str(i), label=str(i), workload={}, text="", path=None, origins={}) for i in range(3)]
    outcomes = list(ex.run(tasks))
    assert seen == [1, 1, 1] and len(outcomes) == 3 and ex.running() == 0
