"""Tile and chip presets: they load, every constant has a source, and the 2016 tile is the paper's."""

import pytest
from pydantic import BaseModel

from rpuarch.config import list_presets, resolve
from rpuarch.config.hardware import ChipConfig, TileConfig


def leaves(model: BaseModel, prefix: str) -> dict:
    """Every constant of a section that matters: not provenance (preset, component), not a field its
    component's kind leaves unused, the named blocks one by one."""
    out = {}
    unused = model.unused() if hasattr(model, "unused") else set()
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.update(leaves(value, f"{prefix}{name}."))
        elif isinstance(value, dict):
            for key, item in value.items():
                out.update(leaves(item, f"{prefix}{name}.{key}."))
        elif name not in ("preset", "component") and name not in unused:
            out[f"{prefix}{name}"] = value
    return out


@pytest.mark.parametrize("kind, name", [(k, n) for k in ("tile", "chip") for n, _ in list_presets(k)[k]])
def test_every_tile_and_chip_constant_has_a_source(kind, name):
    workload, _ = resolve({kind: {"preset": name}}, "test")
    section = getattr(workload, kind)
    missing = [path for path in leaves(section, f"{kind}.") if path not in workload.sources]
    assert not missing, f"{name}: no source for {missing}"


def test_defaults_are_the_2016_tile_and_the_rpu_2016_chip():
    workload, _ = resolve({"tile": {"preset": "gokmen-vlasov-2016"}, "chip": {"preset": "rpu-2016"}}, "test")
    assert leaves(workload.tile, "") == leaves(TileConfig(), "")
    assert leaves(workload.chip, "") == leaves(ChipConfig(), "")
    default, _ = resolve({}, "test")
    assert default.tile.preset == "gokmen-vlasov-2016" and default.chip.preset == "rpu-2016"


def test_the_2016_tile_is_the_papers():
    tile = resolve({"tile": {"preset": "gokmen-vlasov-2016"}}, "test")[0].tile
    assert (tile.rows, tile.cols, tile.t_int_ns, tile.t_pulse_ns) == (4096, 4096, 80.0, 1.0)
    assert (tile.adc.energy_pJ, tile.adc.sample_rate_MSps, tile.adc.lines_per_adc) == (23.0, 200.0, 16)
    assert (tile.array.r_device_MOhm, tile.array.read_voltage_V) == (24.0, 1.0)


def test_smaller_tiles_extend_the_2016_periphery():
    for name, size in (("rpu-1024", 1024), ("rpu-512", 512)):
        tile = resolve({"tile": {"preset": name}}, "test")[0].tile
        assert tile.rows == tile.cols == size and tile.adc.energy_pJ == 23.0


def test_estimate_names_the_source_of_every_hardware_constant():
    from rpuarch.arch.estimate import hardware_sources

    workload, _ = resolve({"tile": {"rows": 512}, "baselines": ["v100"]}, "test")
    sources = hardware_sources(workload, {})
    assert sources["tile.rows"].startswith("the workload")
    assert sources["tile.adc.energy_pJ"].startswith("[paper] 23 pJ")
    assert sources["chip.tiles"].startswith("[assumed]")
    assert sources["baselines.v100.peak_tflops.fp32"].startswith("[datasheet] NVIDIA")
