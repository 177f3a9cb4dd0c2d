"""Every malformed workload in tests/broken/ is refused: exit status 2, a message naming the file
and the field, no traceback, no output directory."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rpuarch.cli import main

BROKEN = Path(__file__).resolve().parents[1] / "broken"
FILES = sorted(BROKEN.glob("*.yaml"))


def expectation(path: Path) -> tuple[str | None, str | None]:
    """(field, text) from the file's first line: ``# expect-field: device.up_down`` or ``# expect: line 5``."""
    first = path.read_bytes().splitlines()[0].decode("utf-8", "replace")
    match = re.match(r"#\s*expect(-field)?:\s*(.+)", first)
    assert match, f"{path.name} does not say what error it expects on its first line"
    return (match.group(2).strip(), None) if match.group(1) else (None, match.group(2).strip())


def test_corpus_covers_every_kind_of_mistake():
    names = {p.stem for p in FILES}
    assert len(FILES) >= 25
    for kind in ("syntax", "unknown", "wrong_type", "out_of_range", "missing_dataset", "too_big_for_chip", "too_small"):
        assert any(kind in name for name in names), kind


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_workload_is_refused_cleanly(path, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["run", str(path), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())  # rich wraps long lines
    assert status == 2, message
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == "", "nothing (no 'rpuarch run X -> DIR' line) is printed before the error"
    assert str(path) in message, f"the message does not name the file: {message}"
    field, text = expectation(path)
    if field:
        assert f": {field}:" in message, f"the message does not name {field}: {message}"
    else:
        assert text in message
    assert not out.exists(), "a refused workload must not create its output directory"


@pytest.mark.parametrize("path", [p for p in FILES if p.stem in ("missing_dataset_file", "network_too_big_for_chip", "unknown_top_field")], ids=lambda p: p.stem)
def test_validate_refuses_what_run_refuses(path, capsys):
    assert main(["validate", str(path)]) == 2
    assert str(path) in " ".join(capsys.readouterr().err.split())


def test_real_command_line_prints_one_paragraph(tmp_path):
    path = BROKEN / "out_of_range_up_down.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "rpuarch", "run", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:") and "device.up_down" in result.stderr and str(path) in " ".join(result.stderr.split())
    assert not (tmp_path / "out").exists()


def test_a_missing_dataset_shows_the_path_it_was_looked_for_at(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # elsewhere than the workload: the path is relative to the workload file
    path = BROKEN / "missing_dataset_file.yaml"
    assert main(["validate", str(path)]) == 2
    assert str(BROKEN / "no-such-corpus.txt") in " ".join(capsys.readouterr().err.split())
