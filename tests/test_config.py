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


# ----------------------------------------------------------------------------- hostile or careless YAML
def test_alias_expansion_and_document_size_are_bounded(tmp_path):
    import time

    from rpuarch.config.loader import MAX_YAML_BYTES, parse_yaml

    # Each level repeats the one below nine times: 9**8 = 43 million values from 800 bytes.
    lines = ["a0: &a0 {x: 1, y: 2, z: 3}"] + [
        f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(9)) + "}" for i in range(1, 9)]
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
        parse_yaml("\n".join(lines), "w.yaml")
    assert time.perf_counter() - started < 2.0  # the bound stops the walk: it never expands the bomb
    with pytest.raises(ConfigError, match="characters of YAML"):
        parse_yaml("a: 1\n" * (MAX_YAML_BYTES // 5 + 1), "w.yaml")
    assert parse_yaml("base: &b {x: 1}\nother: {<<: *b, y: 2}", "w.yaml")["other"] == {"x": 1, "y": 2}  # merge keys work


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_a_config_error(depth):
    from rpuarch.config.loader import parse_yaml

    with pytest.raises(ConfigError, match="nest"):
        parse_yaml("a: " + "[" * depth + "]" * depth, "w.yaml")


def test_a_key_given_twice_is_refused_at_any_level(tmp_path):
    with pytest.raises(ConfigError, match=r"line 3, column 3: the key 'lr' is given twice"):
        load_workload(write(tmp_path, "training:\n  lr: 0.1\n  lr: 0.2\n"))


def test_numbers_are_finite_and_not_booleans(tmp_path):
    for text, field in (("device: {w_max: .inf}", "device.w_max"), ("training: {lr: .nan}", "training.lr"),
                        ("training: {epochs: true}", "training.epochs"), ("network: {dropout: false}", "network.dropout")):
        with pytest.raises(ConfigError) as info:
            load_workload(write(tmp_path, f"dataset: {{path: x.txt}}\n{text}\n"))
        assert info.value.field == field
    # a boolean field still takes booleans
    assert load_workload(write(tmp_path, "dataset: {path: x.txt}\nupdate: {update_management: false}\n")).workload.update.update_management is False


def test_every_problem_is_listed_up_to_ten(tmp_path):
    path = write(tmp_path, "dataset: {path: x.txt}\n" + "".join(f"unknown{i}: 1\n" for i in range(12)))
    with pytest.raises(ConfigError) as info:
        load_workload(path, ["network.hidden=0"])
    message = str(info.value)
    assert message.startswith(f"13 problems in {path}:") and message.count(f"{path}: unknown") == 9
    assert "--set: network.hidden" in message and message.endswith("and 3 more.")


def test_errors_name_where_a_value_was_given(tmp_path):
    path = write(tmp_path, "dataset: {path: x.txt}\n")
    with pytest.raises(ConfigError, match=r"^--set: foo: unknown field"):  # a whole unknown section on --set
        load_workload(path, ["foo.bar=1"])
    with pytest.raises(ConfigError, match=r"^--grid: device.up_down: Input should be less than 1"):
        load_workload(path, [], {"--grid": ["device.up_down=7"]})


def test_relative_dataset_paths_follow_where_they_were_given(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "w.yaml"
    path.write_text("dataset: {path: corpus.txt}\n")
    assert load_workload(path).workload.dataset.path == str(tmp_path / "sub" / "corpus.txt")  # even when missing
    monkeypatch.chdir(tmp_path)
    assert load_workload(path, ["dataset.path=here.txt"]).workload.dataset.path == "here.txt"  # --set: the working directory


def test_shipped_workloads_are_found_by_name_outside_the_clone(tmp_path, monkeypatch):
    import shutil

    from rpuarch.config import loader

    share = tmp_path / "prefix" / "share" / "rpuarch"  # a regular install's data, not the clone
    for folder in ("workloads", "models"):
        shutil.copytree(loader.DATA_ROOT / folder, share / folder)
    monkeypatch.setattr(loader, "DATA_ROOT", share)
    monkeypatch.chdir(tmp_path)  # no workloads/ here
    for spec in ("quickstart", "workloads/quickstart.yaml", "quickstart.yaml"):
        assert loader.find_workload_file(spec) == share / "workloads" / "quickstart.yaml"
        assert load_workload(spec).workload.name == "quickstart"
    assert loader.find_workload_file("paper/asymmetry") == share / "workloads" / "paper" / "asymmetry.yaml"
    (tmp_path / "quickstart").write_text("name: mine\ndataset: {path: x.txt}\n")  # a user's own file wins
    assert load_workload("quickstart").workload.name == "mine"
    with pytest.raises(ConfigError, match=rf"no such workload file .*in {share / 'workloads'}.*workloads .*quickstart; studies .*paper/asymmetry"):
        load_workload("nosuch")
