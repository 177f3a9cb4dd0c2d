"""``rpuarch device fit``: round trips from known parameters through our own simulator, the shipped
example, the preset it writes, and bad data.

Tolerances. A fitted value is within 4 of its standard errors of the truth (a normal estimate
misses that with probability 6e-5; the seeds are fixed). The standard errors themselves are
checked against what the sample size allows, so that a test cannot pass by reporting a huge
uncertainty: with N pulses of one direction and pulse-to-pulse noise 0.3, each step is measured
to 30 %, so a step's mean is known to 0.3 / sqrt(N) (1.1 % at the 800 pulses per direction used
here); we require the reported relative standard error of dw_min below 3 %.
"""

import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

from rpuarch.cli import main
from rpuarch.config import DeviceConfig, resolve
from rpuarch.config.device import ExpStepParams, LinearStepParams, PowStepParams
from rpuarch.device import steps
from rpuarch.device.devices import DeviceArrays, draw_devices, mean_step, step_once
from rpuarch.device.fit import FIT_MODELS, fit_measurements, kernel_params, simulate
from rpuarch.device.measured import DeviceTrace, Measurements, read_measurements, to_csv
from rpuarch.device.pulse_response import device_traces

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "models" / "devices" / "measured" / "synthetic-ecram.csv"
FLAT = dict(dw_min=0.004, dw_min_std=0.3, dw_min_dtod=0, up_down_dtod=0, w_max_dtod=0, w_min_dtod=0)
TRUTH = {  # one device of each model, no device-to-device spread: the fit must give these back
    "constant_step": DeviceConfig(up_down=0.05, **FLAT),
    "soft_bounds": DeviceConfig(type="soft_bounds", up_down=0.05, w_max=0.8, **FLAT),
    "linear_step": DeviceConfig(type="linear_step", up_down=-0.05, **FLAT, linear_step=LinearStepParams(
        gamma_up=0.4, gamma_down=0.7, gamma_up_dtod=0, gamma_down_dtod=0, mean_bound_reference=False)),
    "exp_step": DeviceConfig(type="exp_step", **FLAT, exp_step=ExpStepParams(
        A_up=0.05, A_down=0.05, gamma_up=4, gamma_down=4, a=0.5, b=0)),
    "pow_step": DeviceConfig(type="pow_step", **FLAT, pow_step=PowStepParams(pow_gamma=0.6, pow_gamma_dtod=0, pow_up_down=0.2)),
}


def synthetic(cfg: DeviceConfig, devices: int = 1, seed: int = 1, up: int = 400, down: int = 400, cycles: int = 2):
    """Measurements of ``devices`` devices drawn from cfg by the pulse-response simulator, and the
    devices it drew."""
    dev, pulses, trace = device_traces(cfg, up, down, cycles, devices, np.random.default_rng(seed))
    traces = [DeviceTrace(f"d{m + 1}", trace[:, m], pulses > 0) for m in range(devices)]
    return Measurements("synthetic.csv", traces, "weight", "weight as given", "-"), dev


def by_path(result):
    return {p.path: p for p in result.parameters}


@pytest.fixture(scope="module")
def round_trips():
    return {name: fit_measurements(synthetic(cfg)[0], "auto", bootstrap=20) for name, cfg in TRUTH.items()}


@pytest.mark.parametrize("model", FIT_MODELS)
def test_auto_chooses_the_model_that_drew_the_data(round_trips, model):
    result = round_trips[model]
    assert result.chosen == model, {m: f.bic for m, f in result.fits.items()}
    assert result.chosen_by == "BIC"


@pytest.mark.parametrize("model", ["constant_step", "soft_bounds", "linear_step", "pow_step"])
def test_round_trip_gives_the_parameters_back(round_trips, model):
    """Every fitted field of the preset within 4 standard errors of the value the data were
    drawn with; the step at w = 0 to 3 % (see the module docstring); dw_min_std (estimated from
    ~1,500 one-step residuals, relative error ~ 1/sqrt(2 * 1500) = 2 %, ~3 % with the read noise
    estimated beside it) within 4 standard errors."""
    truth = TRUTH[model]
    result = round_trips[model]
    fitted = result.device_config()
    errors = {}
    for path, p in by_path(result).items():
        if p.se is None:  # spreads of one device, fixed fields
            continue
        true = truth
        for name in path.split(".")[1:]:
            true = getattr(true, name)
        errors[path] = (true, p.value, p.se, (p.value - true) / p.se)
        assert abs(p.value - true) < 4 * p.se, errors[path]
    # the step at w = 0 is what the readings measure directly (pow_step's dw_min is the step at
    # the far bound, traded against its exponent): within 3 %, and dw_min's s.e. that small where
    # dw_min is that step
    assert fitted.granularity == pytest.approx(truth.granularity, rel=0.03)
    if model != "pow_step":
        assert by_path(result)["device.dw_min"].se / fitted.dw_min < 0.03
    assert fitted.type == model and fitted.dw_min_dtod == 0 and fitted.w_max_dtod == 0  # one device: no spread measured
    print(model, errors)


def test_round_trip_of_exp_step_gives_its_step_function_back(round_trips):
    """exp_step's parameters trade off against each other (dw_min against A, A against gamma
    where the exponential is flat), so the round trip is judged on what they describe: the mean
    step at weights across the range, each direction, within 4 standard errors (the spread of
    the bootstrap replicates' step there) of the true one, and known to 4 % (800 steps a
    direction with 30 % noise each measure a mean step to ~1 %; a local level of a curve with
    four parameters per direction to 1.5-2.7 %, measured)."""
    result = round_trips["exp_step"]
    true = draw_devices(TRUTH["exp_step"], (1, 1), np.random.default_rng(0))
    theta = result.fit.thetas[0]

    def step(theta, w, up):
        kind, p, exp = kernel_params("exp_step", theta)
        return steps.signed_step(kind, up, w, *p, exp)

    for w in (-0.45, -0.2, 0.0, 0.2, 0.45):
        for up in (True, False):
            expected = mean_step(np.array([[w]]), up, true)[0, 0]
            se = np.std([step(t, w, up) for t in result.replicates[0]], ddof=1)
            assert abs(step(theta, w, up) - expected) < 4 * se, (w, up, step(theta, w, up), expected, se)
            assert se < 0.04 * abs(expected)


def test_round_trip_of_several_devices_gives_each_device_and_the_spreads_back():
    """8 soft-bounds devices with 20 % spread of dw_min and w_max: each device's fitted step and
    bound within 4 of its bootstrap standard errors of the device drawn; the preset's spread of
    dw_min within 3 standard errors of the drawn devices' own spread (the standard error of a
    standard deviation of 8 values is ~27 %)."""
    cfg = DeviceConfig(type="soft_bounds", dw_min=0.004, dw_min_dtod=0.2, up_down_dtod=0.02, w_max_dtod=0.2,
                       w_min_dtod=0.2, w_max=0.8)
    data, dev = synthetic(cfg, devices=8, seed=3)
    result = fit_measurements(data, "soft_bounds", bootstrap=12)
    assert result.chosen_by == "--model"
    thetas = result.fit.thetas
    drawn = np.stack([dev.dw_up[0], dev.dw_down[0], dev.w_max[0], dev.w_min[0]], axis=1)
    z = (thetas - drawn) / result.device_se
    assert np.abs(z).max() < 4, z
    gains = 0.5 * (dev.dw_up[0] + dev.dw_down[0]) / cfg.dw_min
    p = by_path(result)["device.dw_min_dtod"]
    assert abs(p.value - gains.std(ddof=1)) < 3 * p.se, (p.value, gains.std(ddof=1), p.se)
    assert p.se < 0.5 * p.value  # 8 devices do measure the spread
    w_max = by_path(result)["device.w_max"]
    assert abs(w_max.value - dev.w_max.mean()) < 4 * w_max.se


def test_read_noise_is_estimated_and_removed_from_the_pulse_to_pulse_noise():
    """4 constant-step devices read with N(0, 1 step) noise: the read noise from the residuals'
    anticorrelation within 15 % (its sampling error from ~5,000 neighbouring pairs: ~5 %), and
    dw_min_std within 4 bootstrap standard errors of 0.3 (uncorrected it would be ~1.5)."""
    data, _ = synthetic(TRUTH["constant_step"], devices=4, seed=4)
    rng = np.random.default_rng(8)
    for device in data.devices:
        device.weight = device.weight + 0.004 * rng.standard_normal(device.weight.size)
    result = fit_measurements(data, "constant_step", bootstrap=10)
    assert result.fit.read_noise == pytest.approx(0.004, rel=0.15)
    sigma = by_path(result)["device.dw_min_std"]
    assert abs(sigma.value - 0.3) < 4 * sigma.se and sigma.se < 0.15, (sigma.value, sigma.se)


def test_the_bootstrap_simulator_steps_as_the_reference_does():
    """fit.simulate (the compiled steps.trace) and the reference's step_once take the same step
    with the same pulse-to-pulse draws, for every model (to rounding: numpy's and LLVM's exp
    may differ in the last bit)."""
    for model, cfg in TRUTH.items():
        data, _ = synthetic(cfg, seed=2, up=60, down=60, cycles=1)
        device = data.devices[0]
        result = fit_measurements(data, model, bootstrap=0)
        theta = result.fit.thetas[0]
        fast = simulate(model, theta, 0.3, device, np.random.default_rng(7))
        # the reference: the fitted device as DeviceArrays, stepped by step_once with the same draws
        kind, p, exp = kernel_params(model, theta)
        dev = DeviceArrays(*(np.array([[v]]) for v in (p[1], p[0], p[3], p[2])), dw_min_std=0.3, model=kind,
                           shape_up=np.array([[p[5]]]), shape_down=np.array([[p[4]]]), exp=exp)
        draws = np.random.default_rng(7).standard_normal(device.up.size)

        class Replay:  # hands step_once the same normal draws, one per pulse
            k = 0

            def standard_normal(self, shape):
                self.k += 1
                return np.full(shape, draws[self.k - 1])

        w = np.array([[device.weight[0]]])
        replay = Replay()
        slow = [w[0, 0]]
        for up in device.up:
            step_once(w, np.array([[up]]), np.array([[not up]]), dev, replay)
            slow.append(w[0, 0])
        np.testing.assert_allclose(fast.weight, slow, rtol=1e-12, atol=1e-15)


def test_the_shipped_example_is_fitted_as_its_readme_says(tmp_path, capsys):
    """models/devices/measured/synthetic-ecram.csv (4 devices drawn from ecram-tang-2018 with dw_min
    0.005): auto chooses linear_step; the population means within the sampling error of 4 devices
    of the values it was drawn from (4 x spread / sqrt(4)); the preset loads as `device.preset`
    and through `extends`."""
    out, png = tmp_path / "fitted.yaml", tmp_path / "fit.png"
    assert main(["device", "fit", "synthetic-ecram", "--out", str(out), "--plot", str(png), "--bootstrap", "8"]) == 0
    text = capsys.readouterr().out
    assert "linear_step *" in text and "smallest BIC" in text and "wrote preset" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    preset = yaml.safe_load(out.read_text())
    assert preset["fit"]["model"] == "linear_step" and preset["fit"]["data"]["devices"] == 4
    assert set(preset["fit"]["models"]) == set(FIT_MODELS)
    device, _ = resolve({"device": {"preset": str(out)}}, "test")
    d = device.device
    assert d.type == "linear_step" and d.preset == "fitted"
    for value, true, spread in ((d.dw_min, 0.005, 0.1 * 0.005), (d.w_max, 1.1724, 0.05 * 1.1724),
                                (d.w_min, -0.8276, 0.05 * 0.8276), (d.linear_step.gamma_down, 0.5085, 0.05),
                                (d.dw_min_std, 0.3, 0.3 * 0.03)):
        assert abs(value - true) < 4 * spread / 2, (value, true)
    assert device.sources["device.dw_min"].startswith("fitted to synthetic-ecram.csv")
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {out}\ndevice: {{dw_min_std: 0.1}}\n")
    again, _ = resolve({"device": {"preset": str(child)}}, "test")
    assert again.device.linear_step == d.linear_step and again.device.dw_min_std == 0.1
    assert again.io == device.io  # io and update from gokmen-vlasov-2016


def test_conductance_is_mapped_to_weight_as_stated(tmp_path):
    """The same readings given as conductance between 2 and 10 (uS) with --g-range 2 10 give the
    same weights (w = (2 G - G_max - G_min) / (G_max - G_min)) and so the same fit."""
    data, _ = synthetic(TRUTH["soft_bounds"], up=100, down=100, cycles=1)
    device = data.devices[0]
    weights = tmp_path / "w.csv"
    weights.write_text(to_csv([device]))
    g = 6 + 4 * device.weight
    rows = ["pulse,direction,conductance"] + [f"{k},{'' if k == 0 else ('up' if device.up[k - 1] else 'down')},{float(v)!r}"
                                              for k, v in enumerate(g)]
    conductance = tmp_path / "g.csv"
    conductance.write_text("\n".join(rows) + "\n")
    read = read_measurements(conductance, (2.0, 10.0))
    np.testing.assert_allclose(read.devices[0].weight, device.weight, atol=1e-12)
    assert "G_min = 2" in read.conversion and "given" in read.conversion
    own_range = read_measurements(conductance)  # without --g-range: the file's extremes become -1 and 1
    assert own_range.devices[0].weight.min() == -1 and own_range.devices[0].weight.max() == 1
    for args in (["--g-range", "2", "10"], []):
        out = tmp_path / f"g{len(args)}.yaml"
        assert main(["device", "fit", str(conductance), "--model", "soft-bounds", "--out", str(out), "--bootstrap", "0", *args]) == 0
        assert yaml.safe_load(out.read_text())["fit"]["data"]["readings"] == "conductance"


def test_pulse_response_csv_is_read_back_and_labelled_simulated(tmp_path):
    out = tmp_path / "sim.csv"
    assert main(["device", "pulse-response", "soft-bounds", "--up", "30", "--down", "60", "--cycles", "2",
                 "--devices", "3", "--csv", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Simulated by rpuarch") and "not measured" in text.splitlines()[0]
    data = read_measurements(out)
    assert [d.name for d in data.devices] == ["d1", "d2", "d3"]
    assert all(d.up.size == 180 and d.up[:30].all() and not d.up[30:90].any() for d in data.devices)


def test_the_measured_curves_are_shipped_by_a_regular_install():
    """pyproject's data-files globs name every file of models/devices/measured/ (the CSVs and their
    README; a wheel holds only what the globs name, an editable install reads the source tree)."""
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {p.resolve() for globs in data_files.values() for g in globs for p in REPO.glob(g)}
    files = {p.resolve() for p in EXAMPLE.parent.iterdir() if p.is_file()}
    assert EXAMPLE.resolve() in files and len(files) >= 2
    assert files <= shipped, sorted(str(p) for p in files - shipped)


# ----------------------------------------------------------------------------- bad data
GOOD = "device,pulse,direction,weight\n" + "".join(
    f"a,{k},{'' if k == 0 else ('up' if k <= 25 else 'down')},{0.01 * (k if k <= 25 else 50 - k) - 0.1}\n" for k in range(51))


def _edit(line: int, column: int, value: str | None) -> str:
    """GOOD with the cell of a file line (1 = the header) replaced, or removed (None)."""
    lines = GOOD.splitlines()
    cells = lines[line - 1].split(",")
    if value is None:
        del cells[column]
    else:
        cells[column] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("content, where, what", [
    (_edit(5, 3, "0.1x"), "line 5, column weight", "not a number"),
    (_edit(7, 3, "nan"), "line 7, column weight", "finite"),
    (_edit(4, 1, "three"), "line 4, column pulse", "not an integer"),
    (_edit(9, 1, "11"), "line 9, column pulse", "counting up by one"),
    (_edit(6, 2, "sideways"), "line 6, column direction", "up or down"),
    (_edit(8, 2, ""), "line 8, column direction", "up or down"),
    (GOOD.replace("device,pulse,direction,weight", "device,pulse,weight"), "line 1 (header)", "missing column direction"),
    (GOOD.replace(",weight\n", ",reading\n", 1), "line 1 (header)", "weight or conductance"),
    (GOOD.replace(",weight\n", ",weight,conductance\n", 1), "line 1 (header)", "both weight and conductance"),
    ("".join(line.replace("down", "up") + "\n" for line in GOOD.splitlines()), "device 'a'", "no down sequence"),
    ("\n".join(GOOD.splitlines()[:31]) + "\n", "device 'a'", "too few pulses"),
    (_edit(13, 3, None), "line 13", "one value per column"),
    ("# only a comment\n", "synthetic", "no header row"),
    ("\n".join(line.rsplit(",", 1)[0] + "," + str(abs(float(line.rsplit(",", 1)[1])) + 1) if i else line
               for i, line in enumerate(GOOD.splitlines())) + "\n", "column weight", "both signs"),
])
def test_bad_data_exits_2_naming_file_row_and_column_and_writes_nothing(tmp_path, capsys, content, where, what):
    data = tmp_path / "synthetic.csv"
    data.write_text(content)
    out, png = tmp_path / "out.yaml", tmp_path / "out.png"
    status = main(["device", "fit", str(data), "--out", str(out), "--plot", str(png), "--bootstrap", "0"])
    err = " ".join(capsys.readouterr().err.split())
    assert status == 2
    assert str(data) in err and where in err and what in err, err
    assert "Allowed" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic.csv"]


def test_the_good_example_of_the_bad_data_tests_is_accepted(tmp_path):
    data = tmp_path / "good.csv"
    data.write_text(GOOD)
    assert main(["device", "fit", str(data), "--model", "constant-step", "--out", str(tmp_path / "o.yaml"), "--bootstrap", "0"]) == 0


@pytest.mark.parametrize("argv, what", [
    (["--model", "zigzag"], "not a model"),
    (["--extends", "no-such-preset"], "unknown device preset"),
    (["--bootstrap", "1"], "at least 2"),
])
def test_bad_options_exit_2_and_write_nothing(tmp_path, capsys, argv, what):
    out = tmp_path / "o.yaml"
    try:
        status = main(["device", "fit", str(EXAMPLE), "--out", str(out), *argv])
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    assert status == 2 and what in capsys.readouterr().err
    assert not out.exists()


def test_a_missing_data_file_exits_2(tmp_path, capsys):
    assert main(["device", "fit", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "o.yaml")]) == 2
    assert "absent.csv" in capsys.readouterr().err and not (tmp_path / "o.yaml").exists()
