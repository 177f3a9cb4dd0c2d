"""Numbers for people, and the metrics comparisons and sweeps are built from."""

import math

import pytest

from rpuarch.report.metrics import CORE_METRICS, Metric, best_indices, lookup, metrics_of
from rpuarch.report.units import factor, percent, plain, si


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (2.5e-7, "s", "250 ns"),
        (1.234e-12, "J", "1.23 pJ"),
        (0.5, "W", "500 mW"),
        (4e14, "Ops/s", "400 TOps/s"),
        (4.19e16, "Ops/s", "41.9 POps/s"),
        (999.96, "s", "1.00 ks"),  # rounds before choosing the prefix
        (0, "J", "0 J"),
        (None, "s", "n/a"),
        (math.inf, "W", "n/a"),
        (12.3, "mm²", "12.3 mm²"),  # not an SI-prefixed unit
    ],
)
def test_si(value, unit, text):
    assert si(value, unit) == text


def test_plain_factor_percent():
    assert plain(77591) == "77,591"
    assert plain(1.23456) == "1.235"
    assert factor(2.5) == "2.50x" and factor(None) == "n/a"
    assert percent(0.1234) == "12.3 %"
    assert percent(0.00037) == "0.037 %" and percent(0) == "0.0 %"


REPORT = {
    "accuracy": {"rpu": {"test_loss": 2.0}, "fp": {"test_loss": 1.5, "test_bpc": 1.5 / math.log(2)}},
    "hardware": {"power_W": 3.0, "area_mm2": float("nan")},
    "baselines": [{"name": "cpu", "acceleration_factor": 100.0}, {"name": "gpu.v100", "acceleration_factor": 7.0}],
}


def test_lookup_paths_derived_values_and_baselines_by_name():
    assert lookup(REPORT, "hardware.power_W") == 3.0
    assert lookup(REPORT, "hardware.area_mm2") is None  # non-finite is missing, not a number
    assert lookup(REPORT, "accuracy.gap") == pytest.approx(0.5)
    assert lookup(REPORT, "accuracy.rpu.test_bpc") == pytest.approx(2.0 / math.log(2))
    assert lookup(REPORT, "baselines.gpu.v100.acceleration_factor") == 7.0  # names may hold dots
    assert lookup(REPORT, "baselines.tpu.acceleration_factor") is None
    assert lookup(REPORT, "hardware.nothing") is None


def test_metrics_include_every_baseline_once():
    keys = [m.key for m in metrics_of([REPORT, REPORT])]
    assert keys[: len(CORE_METRICS)] == [m.key for m in CORE_METRICS]
    assert keys.count("baselines.cpu.acceleration_factor") == 1
    assert "baselines.gpu.v100.energy_ratio" in keys


def test_best_values_follow_the_direction_and_ties():
    lower = Metric("a", "a", "s", "lower")
    higher = Metric("b", "b", "x", "higher")
    assert best_indices(lower, [3.0, 1.0, None, 1.0]) == {1, 3}
    assert best_indices(higher, [3.0, 1.0, None]) == {0}
    assert best_indices(lower, [2.0, 2.0]) == set()  # nothing to highlight when all agree
    assert best_indices(Metric("c", "c", "tile", None), [1, 2]) == set()
    assert best_indices(lower, [1.0, None]) == set()


def test_cells_leave_out_the_unit_their_header_carries():
    area = Metric("hardware.area_mm2", "chip area", "mm²", "lower")
    assert area.show(968.4) == "968 mm²" and area.show(968.4, unit=False) == "968" and area.header == "chip area [mm²]"
    speed = Metric("k", "acceleration", "x", "higher")
    assert speed.show(3.744) == "3.74x" and speed.show(3.744, unit=False) == "3.74" and speed.header == "acceleration [x]"
    power = Metric("hardware.power_W", "power", "W", "lower")  # SI: the prefix varies, so the unit stays
    assert power.show(0.405, unit=False) == "405 mW" and power.header == "power"
    assert power.show(None) == "n/a"
