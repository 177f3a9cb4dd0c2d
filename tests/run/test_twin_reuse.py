"""The floating-point twin is trained once per sweep and reused by the points that share it, with
exactly the numbers a fresh twin gives; points that differ in what the twin depends on never share."""

import json
from pathlib import Path

import pytest

from rpuarch.config import load_workload
from rpuarch.nn.twin_cache import twin_key
from rpuarch.run import compute_report
from rpuarch.sweep import LocalExecutor, parse_axis, sweep

from conftest import write_workload


def without_reuse_mark(side: dict) -> dict:
    return {k: v for k, v in side.items() if k != "reused_from"}


def reports(document: dict) -> list[dict]:
    return [json.loads((Path(p["report_dir"]) / "report.json").read_text()) for p in document["points"]]


def test_second_point_reuses_the_twin_with_the_numbers_of_a_fresh_twin(tmp_path):
    path = write_workload(tmp_path / "w", {"baselines": ["measured-host"]})
    out = tmp_path / "sweep"
    document = sweep(path, [], [parse_axis("device.up_down=0,0.3")], out, LocalExecutor(1), progress=False)
    first, second = reports(document)

    loaded = load_workload(path, ["device.up_down=0.3"])
    fresh = compute_report(loaded, tmp_path / "fresh", progress=False)  # no twin cache: trains its twin

    assert "reused_from" not in first["accuracy"]["fp"] and "reused_from" not in fresh["accuracy"]["fp"]
    key = second["accuracy"]["fp"]["reused_from"]
    assert (out / "points" / "fp" / f"{key}.json").is_file()
    assert without_reuse_mark(second["accuracy"]["fp"]) == first["accuracy"]["fp"] == fresh["accuracy"]["fp"]
    assert second["accuracy"]["fp"]["curve"] and second["accuracy"]["test_loss_gap"] == fresh["accuracy"]["test_loss_gap"]
    # Reusing the twin leaves the RPU network's training untouched (and the device did matter).
    assert second["accuracy"]["rpu"] == fresh["accuracy"]["rpu"] != first["accuracy"]["rpu"]
    assert second["activity"] == fresh["activity"]

    # Its timing, and so the measured-host baseline, are the stored twin's; the report says so.
    assert second["timing"]["fp"]["reused_from"] == key
    assert without_reuse_mark(second["timing"]["fp"]) == first["timing"]["fp"]
    host = [next(b for b in r["baselines"] if b["kind"] == "measured-host") for r in (first, second)]
    chars = second["training"]["chars_per_epoch"]
    assert host[1]["epoch_time_s"] == pytest.approx(chars / first["timing"]["fp"]["host"]["chars_per_s"], rel=1e-12)
    assert host[1]["measurement"]["load_avg_1m"] == first["timing"]["fp"]["host"]["load_avg_1m"]
    markdown = (Path(document["points"][1]["report_dir"]) / "report.md").read_text()
    assert f"fp/{key}.json" in markdown and "measured-host speed is that of the floating-point twin reused" in markdown


class SeparateFilesystems(LocalExecutor):
    """Local processes standing in for workers that do not see the client's files (like Dask)."""

    name = "no-shared-fs"
    shares_filesystem = False


def test_without_a_shared_filesystem_every_point_trains_its_twin(tmp_path):
    path = write_workload(tmp_path / "w")
    out = tmp_path / "sweep"
    document = sweep(path, [], [parse_axis("device.up_down=0,0.3")], out, SeparateFilesystems(1), progress=False)
    assert [p["status"] for p in document["points"]] == ["done", "done"]
    assert all("reused_from" not in r["accuracy"]["fp"] for r in reports(document))
    assert not (out / "points" / "fp").exists()


def test_the_key_changes_with_what_the_twin_depends_on_and_only_that(tmp_path):
    path = write_workload(tmp_path / "w")
    digest = "0" * 64

    def key(*overrides: str, data: str = digest) -> str:
        return twin_key(load_workload(path, list(overrides)).workload, data)

    base = key()
    changes = ["training.lr=0.07", "training.epochs=3", "training.eval_chars=300", "tile.rows=32", "tile.cols=32",
               "seed=8", "network.hidden=9", "network.dropout=0.1", "dataset.max_chars=5000", "device.w_max=0.5"]
    keys = [key(c) for c in changes] + [key(data="1" * 64)]
    assert base not in keys and len(set(keys)) == len(keys)
    # What only the RPU network or the cost model reads keeps the key.
    same = ["device.up_down=0.3", "device.dw_min=0.002", "io.forward.inp_bits=5", "update.update_management=false",
            "chip.tiles=64", "name=other"]
    assert [key(c) for c in same] == [base] * len(same)
