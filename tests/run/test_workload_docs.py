"""The workload docs: docs/workload.md is generated from the models and must match them, and the
shipped workloads the docs name exist."""

import re

from rpuarch.config import Workload
from rpuarch.config.loader import find_workload_file
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


def test_shipped_workloads_named_in_the_docs_exist():
    """A command in the README or docs/ that names a shipped workload or study (lower-case names such
    as ``paper/lstm2-64wp``; upper-case ones are placeholders) must name one that exists."""
    root = DOC_PATH.parent.parent
    pattern = re.compile(r"(?:--workload|rpuarch (?:run|study|train|estimate)) ([a-z0-9_.][a-z0-9_./-]*)(?=[\s`]|$)")
    user_files = {"my.yaml"}  # the docs' example of a user's own file
    named = {m for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
             for m in pattern.findall(doc.read_text(encoding="utf-8"))} - user_files
    assert "workloads/quickstart.yaml" in named  # the pattern finds what it is for
    missing = sorted(name for name in named if not find_workload_file(name).is_file())
    assert not missing, f"the docs name workloads that are not shipped: {missing}"
