"""Workload loading: presets, layering, overrides and the errors a user sees."""

from pathlib import Path

import pytest

from rpuarch.config import load_workload, resolve
from rpuarch.config.io import bits_to_res
from rpuarch.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    return path


def test_quickstart_is_valid():
    loaded = load_workload()
    assert loaded.workload.name == "quickstart"
    assert loaded.workload.device.preset == "gokmen-vlasov-2016"
    assert len(loaded.sha256) == 64


def test_preset_values_and_field_override(tmp_path):
    w = load_workload(write(tmp_path, "device: {preset: gokmen-vlasov-2016, up_down: 0.02}")).workload
    assert w.device.up_down == 0.02
    assert w.device.dw_min == 0.001 and w.device.w_max == 0.6
    assert w.io.forward.inp_res == pytest.approx(1 / 126)
    assert w.io.forward.out_res == pytest.approx(1 / 510)
    assert w.update.desired_bl == 10
    assert "device" in w.sources


def test_extends_chain(tmp_path):
    w = load_workload(write(tmp_path, "device: {preset: soft-bounds}")).workload
    assert w.device.type == "soft_bounds" and w.device.dw_min_std == 0.3


def test_set_overrides_file_and_later_resolution_wins(tmp_path):
    path = write(tmp_path, "device: {preset: gokmen-vlasov-2016}\nio: {forward: {inp_bits: 5}}")
    w = load_workload(path).workload
    assert w.io.forward.inp_res == pytest.approx(bits_to_res(5))
    w = load_workload(path, ["io.forward.inp_res=0.1"]).workload
    assert w.io.forward.inp_res == pytest.approx(0.1) and w.io.forward.inp_bits is None


def test_both_res_and_bits_in_one_layer_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="inp_res or inp_bits"):
        load_workload(write(tmp_path, "io: {forward: {inp_bits: 5, inp_res: 0.1}}"))


@pytest.mark.parametrize(
    "text, field",
    [
        ("device: {dw_min: 0}", "device.dw_min"),
        ("device: {w_min: -0.1, w_max: -0.05}", "device.w_max"),
        ("io: {forward: {inp_bits: 1}}", "io.forward.inp_bits"),
        ("io: {forward: {out_noise: -0.1}}", "io.forward.out_noise"),
        ("network: {hidden: many}", "network.hidden"),
        ("network: {depth: 3}", "network.depth"),
        ("device: {preset: nope}", "device.preset"),
    ],
)
def test_bad_values_name_file_and_field(tmp_path, text, field):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_workload(path)
    assert info.value.field == field
    assert info.value.source == str(path)


def test_bad_override_names_set(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_workload(write(tmp_path, "name: x"), ["device.up_down=2"])
    assert info.value.source == "--set" and info.value.field == "device.up_down"
    assert "< 1" in info.value.allowed


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(ConfigError, match="line 2"):
        load_workload(write(tmp_path, "name: x\ndevice: dw_min: 0.1\n"))


def test_missing_file():
    with pytest.raises(ConfigError, match="no such workload file"):
        load_workload("/nonexistent/w.yaml")


def test_resolve_is_deterministic():
    a, _ = resolve({"device": {"preset": "symmetric"}}, "x")
    b, _ = resolve({"device": {"preset": "symmetric"}}, "x")
    assert a == b and a.device.up_down_dtod == 0.0
