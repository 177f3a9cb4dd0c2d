"""Parsing grids and variants, and how points travel to workers."""

import pickle

import pytest

from rpuarch.config import load_workload
from rpuarch.errors import ConfigError
from rpuarch.sweep import PointTask, parse_axis, parse_variant, read_variant_file
from rpuarch.sweep.grid import check_axes, expand, load_points, to_csv


def test_axis_values_are_typed_like_set():
    axis = parse_axis("device.up_down=0,0.01, 0.02")
    assert axis.path == "device.up_down" and axis.raw == ("0", "0.01", "0.02")
    assert axis.values == [0, 0.01, 0.02]
    assert parse_axis("device.preset=symmetric,soft-bounds").values == ["symmetric", "soft-bounds"]


@pytest.mark.parametrize("text", ["device.up_down", "=1,2", "device.up_down=", "device.up_down=1,,2", "a=1,1"])
def test_bad_axes_are_refused(text):
    with pytest.raises(ConfigError) as info:
        parse_axis(text)
    assert info.value.source == "--grid"


def test_cross_product_first_axis_slowest():
    axes = [parse_axis("a=1,2"), parse_axis("b=x,y,z")]
    points = expand(axes)
    assert len(points) == 6
    assert points[0] == {"a": "1", "b": "x"} and points[1] == {"a": "1", "b": "y"} and points[3] == {"a": "2", "b": "x"}
    with pytest.raises(ConfigError, match="swept twice"):
        check_axes([parse_axis("a=1"), parse_axis("a=2")])


def test_every_point_is_validated_before_anything_runs(tiny_workload):
    with pytest.raises(ConfigError) as info:
        load_points(tiny_workload, [], [parse_axis("device.up_down=0,1.5")])
    assert info.value.field == "device.up_down" and info.value.source == "--grid"  # not --set: the user typed --grid
    points = load_points(tiny_workload, [], [parse_axis("device.up_down=0,0.02"), parse_axis("seed=1,2")])
    assert [label for label, _ in points][1] == "device.up_down=0, seed=2"
    assert len({loaded.resolved_sha256 for _, loaded in points}) == 4


def test_variants_from_the_command_line():
    v = parse_variant("small:tile.rows=512, tile.cols=512")
    assert v.name == "small" and v.overrides == ("tile.rows=512", "tile.cols=512")
    assert parse_variant("as-is").overrides == ()
    for bad in ("tile.rows=5", ":tile.rows=5", "x:tile.rows"):
        with pytest.raises(ConfigError):
            parse_variant(bad)


def test_variant_file_flattens_nested_settings(tmp_path, tiny_workload):
    path = tmp_path / "variants.yaml"
    path.write_text("variants:\n  base: {}\n  asym: {device.up_down: 0.02}\n  small: {tile: {rows: 32, cols: 48}}\n"
                    "  named: {device: {preset: soft-bounds}}\n")
    variants = read_variant_file(path)
    assert [v.name for v in variants] == ["base", "asym", "small", "named"]
    assert variants[2].overrides == ("tile.rows=32", "tile.cols=48")
    w = load_workload(tiny_workload, list(variants[3].overrides)).workload
    assert w.device.type == "soft_bounds"
    path.write_text("asym: {device.up_down: 0.02}\n")
    with pytest.raises(ConfigError) as info:
        read_variant_file(path)
    assert info.value.source == str(path)


def test_a_point_survives_pickling_with_its_hash(tiny_workload):
    loaded = load_workload(tiny_workload, ["io.forward.inp_bits=5", "device.up_down=0.01"])
    task = pickle.loads(pickle.dumps(PointTask.of(loaded, "key", "p")))
    again = task.loaded()
    assert again.resolved_sha256 == loaded.resolved_sha256
    assert again.workload == loaded.workload


def test_csv_has_one_row_per_point():
    document = {
        "axes": [{"path": "a", "values": [1, 2]}],
        "metrics": [{"key": "hardware.power_W"}],
        "points": [
            {"values": {"a": 1}, "status": "done", "metrics": {"hardware.power_W": 0.5}, "report_dir": "p/1", "error": None,
             "warnings": [{"kind": "not_converged", "subject": "rpu", "message": "..."}]},
            {"values": {"a": 2}, "status": "failed", "metrics": {"hardware.power_W": None}, "report_dir": "p/2", "error": "diverged\nmore"},
        ],
    }
    lines = to_csv(document).splitlines()
    assert lines == ["a,status,hardware.power_W,warnings,report_dir,error", "1,done,0.5,not_converged:rpu,p/1,",
                     "2,failed,,,p/2,diverged"]
