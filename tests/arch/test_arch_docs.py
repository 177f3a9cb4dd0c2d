"""docs/hardware.md: its generated parameter reference and paper table match the code."""

from rpuarch.arch import hardware_docs


def test_hardware_docs_are_up_to_date():
    current, generated = hardware_docs.updated_document()
    assert generated == current, "docs/hardware.md is stale: run python -m rpuarch.arch.hardware_docs"


def test_every_hardware_field_is_documented():
    text = hardware_docs.DOC_PATH.read_text(encoding="utf-8")
    for path in ("tile.adc.energy_pJ", "tile.vector_unit.lanes", "chip.memory.capacity_MB",
                 "baselines[].launch_overhead_us", "activity.coincidence_rate"):
        assert f"`{path}`" in text
