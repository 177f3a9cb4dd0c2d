"""`rpuarch device pulse-response` and `rpuarch bench tile` through the CLI entry point."""

import json

import numpy as np
import pytest

from rpuarch.cli import main
from rpuarch.config import DeviceConfig
from rpuarch.device.pulse_response import pulse_response


def test_pulse_response_of_a_device_without_spread_counts_its_states():
    """dw_min 0.002, bounds +-0.5, no variation or noise: 250 pulses from 0 to w_max, 500 from
    bound to bound, (w_max - w_min) / dw_min = 500 states; the curve is the exact staircase."""
    cfg = DeviceConfig(dw_min=0.002, w_max=0.5, w_min=-0.5, dw_min_dtod=0, dw_min_std=0, up_down_dtod=0,
                       w_max_dtod=0, w_min_dtod=0)
    r = pulse_response(cfg, up=300, down=600, cycles=1, devices=3, rng=np.random.default_rng(0))
    assert r.mean.size == 901 and r.mean[0] == 0
    np.testing.assert_allclose(r.mean[:251], 0.002 * np.arange(251), atol=1e-12)
    assert r.mean[300] == pytest.approx(0.5) and r.mean[900] == pytest.approx(-0.5)
    s = r.summary
    assert s.states == pytest.approx(500) and s.nominal_states == pytest.approx(500)
    assert s.plateau_up == pytest.approx(0.5) and s.plateau_down == pytest.approx(-0.5)
    assert s.bounds_reached and s.asymmetry == pytest.approx(0, abs=1e-12)
    assert np.all(r.std < 1e-12)


def test_pulse_response_measures_the_asymmetry_and_soft_bounds_saturate():
    gamma = DeviceConfig(up_down=0.04, dw_min_dtod=0, dw_min_std=0.3, up_down_dtod=0.0)
    s = pulse_response(gamma, 10, 10, 1, 500, np.random.default_rng(1)).summary
    # 500 devices x 32 probe pulses, step noise 0.3: sd of each mean step 0.3/sqrt(16000) = 0.24 %
    assert s.asymmetry == pytest.approx(0.04, abs=0.01)
    soft = DeviceConfig(type="soft_bounds", dw_min_dtod=0, dw_min_std=0, up_down_dtod=0, w_max_dtod=0, w_min_dtod=0)
    r = pulse_response(soft, 3000, 0, 1, 2, np.random.default_rng(2))
    # w_n = w_max (1 - (1 - dw_min / w_max)^n) from w = 0
    assert r.mean[3000] == pytest.approx(0.6 * (1 - (1 - 0.001 / 0.6) ** 3000), rel=1e-9)
    assert r.summary.plateau_up == pytest.approx(r.mean[3000]) and r.summary.plateau_down is None
    assert r.summary.states is None  # no down train: no plateau to count from


def test_pulse_response_command_writes_json_and_png(tmp_path, capsys):
    out_json, out_png = tmp_path / "pr.json", tmp_path / "pr.png"
    status = main(["device", "pulse-response", "symmetric", "--up", "40", "--down", "30", "--cycles", "2",
                   "--devices", "20", "--json", str(out_json), "--plot", str(out_png),
                   "--set", "device.dw_min=0.002", "--set", "device.up_down=0.02"])
    assert status == 0
    data = json.loads(out_json.read_text())
    assert len(data["mean"]) == len(data["std"]) == 2 * (40 + 30) + 1
    assert set(data["summary"]) >= {"states", "plateau_up", "plateau_down", "w_highest", "w_lowest", "asymmetry"}
    assert data["device"]["dw_min"] == 0.002 and data["device"]["up_down"] == 0.02
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "states" in capsys.readouterr().out


def test_pulse_response_accepts_a_preset_yaml_path(tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text("extends: gokmen-vlasov-2016\ndevice: {dw_min: 0.01}\n")
    assert main(["device", "pulse-response", str(preset), "--up", "5", "--down", "5", "--json", str(tmp_path / "o.json")]) == 0
    assert json.loads((tmp_path / "o.json").read_text())["device"]["dw_min"] == 0.01


@pytest.mark.parametrize(
    "argv, message",
    [
        (["no-such-preset"], "unknown device preset"),
        (["gokmen-vlasov-2016", "--set", "device.dw_min=0"], "device.dw_min"),
        (["gokmen-vlasov-2016", "--set", "device.w_min=0.9"], "w_min"),
        (["gokmen-vlasov-2016", "--set", "io.forward.out_noise=-1"], "out_noise"),
        (["gokmen-vlasov-2016", "--set", "device.no_such_field=1"], "no_such_field"),
        (["gokmen-vlasov-2016", "--set", "training.lr=1"], "training"),
        (["ideal"], "ideal"),
        (["BROKEN_YAML"], "not valid YAML"),
    ],
)
def test_pulse_response_bad_input_exits_2_without_output(tmp_path, capsys, argv, message):
    if argv[0] == "BROKEN_YAML":
        broken = tmp_path / "broken.yaml"
        broken.write_text("device: {dw_min: [\n")
        argv = [str(broken)] + argv[1:]
    out_json, out_png = tmp_path / "pr.json", tmp_path / "pr.png"
    status = main(["device", "pulse-response", *argv, "--up", "5", "--down", "5",
                   "--json", str(out_json), "--plot", str(out_png)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and "Traceback" not in err
    assert not out_json.exists() and not out_png.exists()
    assert list(tmp_path.iterdir()) == ([broken] if argv[0].endswith("broken.yaml") else [])


def test_pulse_response_refuses_a_train_too_long_to_record(capsys):
    # 10 billion pulses on 100 devices once tried to allocate 7 TiB and died with a traceback.
    assert main(["device", "pulse-response", "gokmen-vlasov-2016", "--up", "10000000000", "--down", "1"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "records 1,000,000,000,200 weights" in err and "fewer pulses or --devices" in err and "Traceback" not in err


def test_bench_tile_runs_every_case_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "tile", "--seconds", "0.01", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    names = [c["name"] for c in data["cases"]]
    assert len(names) == 9 and any("aggregated" in n for n in names)
    for algorithm in ("tiki-taka", "ttv2", "c-ttv2"):  # timed in turn with the plain exact update: its rate beside
        case = next(c for c in data["cases"] if c["name"].startswith(f"update {algorithm}"))
        assert case["detail"]["slowdown"] == pytest.approx(case["detail"]["plain_exact_cpu"] / case["cpu"])
        assert case["target"] == pytest.approx(case["detail"]["plain_exact_cpu"] / 2)
    for case in data["cases"]:
        assert case["cpu"] > 0 and case["wall"] > 0 and case["calls"] >= 3
    exact = [c for c in data["cases"] if c["name"].startswith("update exact")]
    # fewer coincidences at small d: the three points span few to many
    per_update = [c["detail"]["coincidences_per_update"] for c in exact]
    assert per_update == sorted(per_update) and per_update[0] < 2000 < per_update[-1]
    assert "load average" in capsys.readouterr().out


def test_bench_tile_bad_input_exits_2(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "tile", "--seconds", "0", "--json", str(out)]) == 2
    assert not out.exists()
