"""docs/workload.md is generated from the models and must match them."""

from rpuarch.config import Workload
from rpuarch.report.fields import DOC_PATH, render, walk


def test_committed_reference_matches_the_models():
    assert DOC_PATH.is_file(), "docs/workload.md is missing: run `rpuarch docs`"
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "docs/workload.md is stale: run `rpuarch docs`"


def test_every_leaf_field_is_documented_with_its_default_and_meaning():
    text = render()
    rows = walk(Workload, Workload())
    assert len(rows) > 40
    for row in rows:
        assert f"| `{row.path}` |" in text
        assert row.description, f"{row.path} has no description in its pydantic field"
    paths = {row.path for row in rows}
    # Nested sections appear field by field, lists of sections with [].
    assert {"io.backward.bound_management", "device.up_down", "baselines[].name", "training.lr"} <= paths


def test_section_defaults_come_from_the_parent_default():
    rows = {row.path: row for row in walk(Workload, Workload())}
    # io.backward defaults differ from IOConfig's own: no bound management on the backward pass.
    assert rows["io.forward.bound_management"].default == "iterative"
    assert rows["io.backward.bound_management"].default == "none"
