"""``rpuarch calibrate``: the published chips, reproduced; predictions and fits told apart; bad
case and component files refused with the file and the field."""

import json
import shutil

import pytest

from rpuarch.arch.calibrate import CASES_DIR, calibrate, load_case, refit
from rpuarch.cli import main


@pytest.fixture(scope="module")
def result():
    return calibrate()


def test_every_published_figure_is_within_its_tolerance(result):
    rows = result["cases"]
    names = {r["name"] for r in rows}
    assert {"HERMES 1-phase", "HERMES 4-phase", "ISAAC-CE", "RPU-2016 tile", "RPU-2016 efficiency", "DeepBench V100"} <= names
    for row in rows:
        assert set(row) >= {"name", "metric", "published", "model", "ratio", "tolerance", "pass", "source"}
        assert row["ratio"] == pytest.approx(row["model"] / row["published"])
        assert row["pass"], f"{row['name']} {row['metric']}: ratio {row['ratio']:.3f} beyond ±{row['tolerance']:.0%}"


def test_fits_are_marked_and_their_stored_value_still_reproduces_the_figure(result):
    fits = {r["name"]: r for r in result["cases"] if r["role"] == "fit"}
    assert set(fits) == {"HERMES 1-phase", "DeepBench V100"}
    assert fits["HERMES 1-phase"]["metric"] == "ops_per_s_per_W"
    assert fits["HERMES 1-phase"]["fitted"]["field"] == "tile.adc.energy_pJ"
    assert fits["DeepBench V100"]["fitted"]["field"] == "v100.launch_overhead_us"
    for row in fits.values():  # the stored values (rounded in their files) still reproduce their figures
        assert row["fitted"]["refit"] == pytest.approx(row["fitted"]["stored"], rel=1e-3)
    # Every other HERMES figure is a prediction; the 4-phase efficiency follows from the 1-phase fit.
    four = {r["metric"]: r for r in result["cases"] if r["name"] == "HERMES 4-phase"}
    assert {r["role"] for r in four.values()} == {"prediction"}
    # ... four reads per product: a quarter of the throughput and of the efficiency.
    one = {r["metric"]: r for r in result["cases"] if r["name"] == "HERMES 1-phase"}
    assert four["ops_per_s"]["model"] == pytest.approx(one["ops_per_s"]["model"] / 4)


def test_the_fitted_constant_is_tagged_with_its_figure():
    from rpuarch.config import resolve

    workload, _ = resolve({"chip": {"preset": "hermes"}}, "test")
    assert workload.sources["tile.adc.energy_pJ"].startswith("[calibrated] fitted to HERMES 1-phase 9.76 TOPS/W")


def test_a_stale_fit_shows(tmp_path):
    # Double the stored ADC energy: the refit still finds 39 pJ and the efficiency fails.
    case = load_case(CASES_DIR / "hermes-1-phase.yaml")
    case.workload["tile"] = {"adc": {"energy_pJ": 78.5}}
    stored, value = refit(case, case.figures[1], "test")
    assert stored == 78.5 and value == pytest.approx(39.25, rel=1e-3)


def test_isaac_is_the_sum_of_its_parts(result):
    isaac = {r["metric"]: r for r in result["cases"] if r["name"] == "ISAAC-CE"}
    assert isaac["tile_power_W"]["role"] == "bookkeeping" and isaac["ops_per_s_per_W"]["role"] == "prediction"
    # 168 tiles of 96 crossbars, each 2 x 128 inputs x 16 weights per 16 x 100 ns: 41.3 TOPS.
    assert isaac["ops_per_s_per_W"]["model"] * isaac["power_W"]["model"] == pytest.approx(168 * 96 * 4096 / 1.6e-6)


def test_calibrate_cli_writes_json_and_the_page_is_current(tmp_path, capsys):
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--json", str(out), "--check"]) == 0, "docs/calibration.md is stale: run rpuarch calibrate"
    document = json.loads(out.read_text())
    assert document["cases"] and all(c["pass"] for c in document["cases"])
    assert "DeepBench V100" in {c["name"] for c in document["cases"]}


def test_a_case_of_an_unknown_kind_exits_2(tmp_path, capsys):
    shutil.copy(CASES_DIR / "rpu-2016-tile.yaml", tmp_path / "ok.yaml")
    (tmp_path / "bad.yaml").write_text((CASES_DIR / "rpu-2016-tile.yaml").read_text().replace("kind: peak-mvm", "kind: magic"))
    assert main(["calibrate", "--cases", str(tmp_path), "--doc", str(tmp_path / "page.md")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "kind" in err and "Traceback" not in err
    assert not (tmp_path / "page.md").exists()


# ----------------------------------------------------------------------------- component files
@pytest.fixture
def models(tmp_path, monkeypatch):
    """A copy of models/ to break, used through RPUARCH_MODELS."""
    from rpuarch.config.loader import models_dir

    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy)
    monkeypatch.setenv("RPUARCH_MODELS", str(copy))
    return copy


def estimate_cli(tmp_path, *overrides):
    workload = tmp_path / "w.yaml"
    workload.write_text("dataset: {name: tinyshakespeare}\nnetwork: {layers: 1, hidden: 8, vocab_size: 20}\n"
                        "training: {streams: 2, seq_length: 5}\nbaselines: [v100]\n"
                        "tile: {preset: gokmen-vlasov-2016}\nchip: {preset: rpu-2016}\n")
    return main(["estimate", str(workload), "--json", str(tmp_path / "e.json"), *overrides])


def test_unknown_component_exits_2_naming_the_file_and_field(models, tmp_path, capsys):
    preset = models / "tiles" / "gokmen-vlasov-2016.yaml"
    preset.write_text(preset.read_text().replace("component: adc/rpu-2016-sar", "component: adc/no-such-adc"))
    assert estimate_cli(tmp_path) == 2
    err = capsys.readouterr().err
    assert str(preset) in err and "tile.adc.component" in err and "adc/rpu-2016-sar" in err  # what exists
    assert not (tmp_path / "e.json").exists()


def test_negative_energy_in_a_component_file_exits_2_naming_it(models, tmp_path, capsys):
    component = models / "components" / "adc" / "rpu-2016-sar.yaml"
    component.write_text(component.read_text().replace("energy_pJ: 23.0", "energy_pJ: -23.0"))
    assert estimate_cli(tmp_path) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert str(component) in err and "tile.adc.energy_pJ" in err and ">= 0" in err and "Traceback" not in err


def test_a_mesh_that_cannot_hold_the_tiles_exits_2(models, tmp_path, capsys):
    chip = models / "chips" / "rpu-2016.yaml"
    chip.write_text(chip.read_text().replace("mesh: {rows: 10, cols: 10}", "mesh: {rows: 9, cols: 10}"))
    assert estimate_cli(tmp_path) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert str(chip) in err and "chip.mesh" in err and "cannot hold 100 tiles" in err
