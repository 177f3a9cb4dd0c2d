"""``estimate --sensitivity``: every [assumed] constant varied, against the estimate and closed forms."""

import json

import pytest

from rpuarch.arch import sensitivity as sens
from rpuarch.arch.estimate import estimate
from rpuarch.cli import main

from archtest_helpers import workload

SMALL = {"network": {"layers": 1, "hidden": 8, "vocab_size": 20}, "training": {"streams": 4, "seq_length": 5},
         "baselines": ["xeon-e5-2699v4", "v100"], "tile": {"preset": "gokmen-vlasov-2016", "rows": 64, "cols": 64},
         "chip": {"preset": "rpu-2016"}}


@pytest.fixture(scope="module")
def small():
    return workload(**SMALL)


@pytest.fixture(scope="module")
def result(small):
    return sens.sensitivity(small, train_chars=2000)


def rows_of(result, parameter):
    return {r["metric"]: r for r in result["sensitivity"] if r["parameter"] == parameter}


def test_the_base_is_the_estimate(small, result):
    hw = estimate(small, train_chars=2000)
    base = result["base"]
    for metric in ("energy_per_char_J", "time_per_char_s", "ops_per_s_per_W"):
        assert base[metric] == pytest.approx(hw["hardware"][metric], rel=1e-9), metric
    for b in hw["baselines"]:
        assert base[f"acceleration_factor.{b['name']}"] == pytest.approx(b["acceleration_factor"], rel=1e-9)


def test_only_assumed_constants_are_varied(small, result):
    varied = {r["parameter"] for r in result["sensitivity"]}
    assert {"chip.static_power_W", "tile.static_power_mW", "tile.vector_unit.lanes", "activity.input_fraction"} <= varied
    # [paper] constants (the ADC's 23 pJ, t_int) and unused ones (an amplitude DAC's lsb_ns) are not.
    assert not varied & {"tile.adc.energy_pJ", "tile.t_int_ns", "tile.dac.lsb_ns"}
    # Invalid variants are skipped with their reason (a threshold at 3 V is above the 2 V update).
    assert any(s["parameter"] == "tile.array.threshold_voltage_V" and "voltages" in s["reason"] for s in result["skipped"])


def test_static_power_adds_its_power_over_the_time_per_character(result):
    # 1 W of static power at x0.5 and x2: -0.5 W and +1 W over the time per character, time unchanged.
    rows = rows_of(result, "chip.static_power_W")
    time = rows["time_per_char_s"]
    assert time["low"] == time["high"] == pytest.approx(time["base"], rel=1e-12)
    energy = rows["energy_per_char_J"]
    assert energy["high"] - energy["base"] == pytest.approx(1.0 * time["base"], rel=1e-9)
    assert energy["base"] - energy["low"] == pytest.approx(0.5 * time["base"], rel=1e-9)


def test_reusing_the_schedule_equals_simulating_again(small):
    # An energy-only constant reuses the base's simulated operations: the same sum as a new simulation.
    variant = sens.with_value(small, "tile.vector_unit.energy_pJ_per_op", 2.0)
    network = sens.lstm_network(20, 8, 1, 64, 64, 4, 5)
    base = sens._run(small, network, 2000, "training", "test")
    reused = sens._run(variant, network, 2000, "training", "test", base)
    fresh = sens._run(variant, network, 2000, "training", "test")
    assert reused.steady is base.steady and fresh.steady is not base.steady
    a, b = sens._metrics(reused, variant, "training"), sens._metrics(fresh, variant, "training")
    assert a == pytest.approx(b, rel=1e-12)
    # A constant that changes durations is simulated again.
    slower = sens.with_value(small, "tile.t_pulse_ns", 2.0)
    assert sens._run(slower, network, 2000, "training", "test", base).steady is not base.steady


def test_cli_writes_the_json_and_a_tornado_chart(tmp_path, capsys):
    path = tmp_path / "w.yaml"
    path.write_text(json.dumps({**SMALL, "dataset": {"name": "tinyshakespeare"}}))
    out, plot = tmp_path / "s.json", tmp_path / "t.png"
    assert main(["estimate", str(path), "--sensitivity", "--train-chars", "2000", "--json", str(out), "--plot", str(plot)]) == 0
    rows = json.loads(out.read_text())["sensitivity"]
    assert rows and set(rows[0]) >= {"parameter", "metric", "low", "high", "base"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = " ".join(capsys.readouterr().out.split())
    assert "Largest effect on energy per character: chip.static_power_W" in printed
    assert main(["estimate", str(path), "--sensitivity", "--range", "2,0.5"]) == 2
