"""Reading corpora: the newline / byte-order-mark / bad-byte policy and its report, sources,
cached downloads with checksums, and clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from rpuarch.config import DatasetConfig
from rpuarch.errors import ConfigError, UserError
from rpuarch.nn import corpus
from rpuarch.nn.corpus import RemoteCorpus, fetch_remote, read_corpus

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data (the shared corpora) is not present")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_normalize_drops_bom_and_unifies_line_endings(tmp_path):
    f = write(tmp_path / "a.txt", "\ufeffone\r\ntwo\rthree\nfour\r\n".encode())
    c = read_corpus(DatasetConfig(path=str(f)))
    assert c.text == "one\ntwo\nthree\nfour\n"
    r = c.report
    assert (r.boms_dropped, r.crlf_normalized, r.cr_normalized, r.bad_bytes_replaced) == (1, 2, 1, 0)
    assert r.bytes == f.stat().st_size and r.chars == len(c.text)


def test_keep_leaves_them_as_characters(tmp_path):
    raw = "\ufeffone\r\ntwo\r"
    f = write(tmp_path / "a.txt", raw.encode())
    c = read_corpus(DatasetConfig(path=str(f), newlines="keep"))
    assert c.text == raw
    assert (c.report.boms_dropped, c.report.crlf_normalized, c.report.cr_normalized) == (0, 0, 0)


def test_each_bad_byte_becomes_one_replacement_character_and_is_counted(tmp_path):
    # \xff and \xfe are never valid UTF-8; \xc3 starts a 2-byte sequence that "(" does not continue.
    f = write(tmp_path / "a.txt", b"ab\xff\xfecd\xc3(e" + "é".encode())
    c = read_corpus(DatasetConfig(path=str(f)))
    assert c.text == "ab\ufffd\ufffdcd\ufffd(eé"
    assert c.report.bad_bytes_replaced == 3


def test_strict_refuses_with_file_and_offset(tmp_path):
    f = write(tmp_path / "bad.txt", b"abc\xffdef")
    with pytest.raises(UserError, match=r"bad\.txt is not UTF-8 \(byte 3 is 0xff\)"):
        read_corpus(DatasetConfig(path=str(f), encoding_errors="strict"))


def test_directory_and_glob_read_sorted_and_concatenated(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    write(tmp_path / "d" / "b.txt", b"B")
    write(tmp_path / "d" / "a.txt", b"A")
    write(tmp_path / "d" / "sub" / "c.h", b"C")
    c = read_corpus(DatasetConfig(path=str(tmp_path / "d")))
    assert c.text == "ABC" and c.report.files == 3
    c = read_corpus(DatasetConfig(path=str(tmp_path / "d" / "*.txt")))
    assert c.text == "AB"


def test_max_chars_cuts_after_normalisation(tmp_path):
    f = write(tmp_path / "a.txt", b"x\r\n" * 2000)
    c = read_corpus(DatasetConfig(path=str(f), max_chars=1001))
    assert c.text == "x\n" * 500 + "x" and c.report.truncated_to == 1001
    assert c.report.chars >= 1001 and c.report.bytes <= 4 * 1003 + 3  # only the start was read


@pytest.mark.parametrize("seed", range(6))
def test_max_chars_reads_only_the_start_and_gives_the_text_of_a_full_read(tmp_path, seed):
    # Mixed 1-4 byte characters, CRLF pairs and bad bytes, so that the cut lands anywhere; the
    # prefix read must decode to exactly the start of what reading everything gives.
    rng = np.random.default_rng(seed)
    pieces = [b"a", b"\r\n", b"\r", "é".encode(), "€".encode(), "😀".encode(), b"\xff", b"\n"]
    body = b"".join(pieces[i] for i in rng.integers(0, len(pieces), 30_000))
    for name, data in (("one.txt", body), ("two.txt", b"\xef\xbb\xbf" + body[:500])):
        write(tmp_path / name, data)
    for max_chars in (1000, 1001, 1002, 1003, 29_000):
        full = read_corpus(DatasetConfig(path=str(tmp_path / "*.txt"))).text
        cut = read_corpus(DatasetConfig(path=str(tmp_path / "*.txt"), max_chars=max_chars))
        assert cut.text == full[:max_chars]
        assert cut.report.bytes <= 4 * (max_chars + 2) + 3


def test_the_text_hash_is_that_of_the_text_used(tmp_path):
    f = write(tmp_path / "a.txt", b"hello\r\nworld " * 200)
    c = read_corpus(DatasetConfig(path=str(f), max_chars=1000))
    assert c.report.sha256 == hashlib.sha256(c.text.encode()).hexdigest()
    write(tmp_path / "a.txt", b"hello\r\nworld " * 199 + b"HELLO\r\nworld ")  # changed after the cut
    assert read_corpus(DatasetConfig(path=str(f), max_chars=1000)).report.sha256 == c.report.sha256
    write(tmp_path / "a.txt", b"HELLO\r\nworld " * 200)
    assert read_corpus(DatasetConfig(path=str(f), max_chars=1000)).report.sha256 != c.report.sha256


@pytest.mark.parametrize("spec", ["missing.txt", "nothing-*.txt", "emptydir"])
def test_bad_paths_are_config_errors(tmp_path, spec):
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(ConfigError, match="dataset.path"):
        read_corpus(DatasetConfig(path=str(tmp_path / spec)))


def test_missing_linux_headers_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(corpus, "LINUX_HEADERS_DIR", tmp_path / "nope")
    with pytest.raises(UserError, match="linux-libc-dev"):
        read_corpus(DatasetConfig(name="linux-headers"))


@pytest.fixture
def fake_remote(monkeypatch, tmp_path):
    """A remote corpus served from a file:// URL, with a cache in tmp_path."""
    body = "\ufeff".encode() + b"remote text\r\n" * 100
    source = write(tmp_path / "served.txt", body)
    entry = RemoteCorpus("fake.txt", source.as_uri(), hashlib.sha256(body).hexdigest(), len(body), "a test corpus")
    monkeypatch.setitem(corpus.REMOTE_CORPORA, "warpeace", entry)
    monkeypatch.setenv("RPUARCH_CACHE", str(tmp_path / "cache"))
    return entry, body


def test_download_once_into_the_cache(fake_remote, tmp_path):
    entry, body = fake_remote
    path = fetch_remote("warpeace")
    assert path == tmp_path / "cache" / "fake.txt" and path.read_bytes() == body
    Path(entry.url.removeprefix("file://")).unlink()  # the source is gone: the cache must serve
    assert read_corpus(DatasetConfig(name="warpeace")).text.startswith("remote text\n")


def test_checksum_mismatch_keeps_nothing(fake_remote, monkeypatch, tmp_path):
    entry, _ = fake_remote
    monkeypatch.setitem(corpus.REMOTE_CORPORA, "warpeace", RemoteCorpus(entry.filename, entry.url, "0" * 64, 1, "x"))
    with pytest.raises(UserError, match="sha256"):
        fetch_remote("warpeace")
    assert not any((tmp_path / "cache").iterdir())


def test_offline_download_is_a_clear_error(fake_remote, monkeypatch):
    entry, _ = fake_remote
    # Port 9 (discard) on the loopback interface: refused at once, no network needed.
    broken = RemoteCorpus(entry.filename, "http://127.0.0.1:9/fake.txt", entry.sha256, entry.size, entry.what)
    monkeypatch.setitem(corpus.REMOTE_CORPORA, "warpeace", broken)
    with pytest.raises(UserError, match="offline.*dataset.path"):
        read_corpus(DatasetConfig(name="warpeace"))


@needs_shared
def test_checksums_are_those_of_the_shared_copies():
    for entry in corpus.REMOTE_CORPORA.values():
        data = (SHARED / entry.filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.size


@needs_shared
def test_war_and_peace_report(monkeypatch, tmp_path):
    # The named corpus, served by a cache that links to the shared copy (no network).
    (tmp_path / "warpeace_input.txt").symlink_to(SHARED / "warpeace_input.txt")
    monkeypatch.setenv("RPUARCH_CACHE", str(tmp_path))
    r = read_corpus(DatasetConfig(name="warpeace")).report
    # The char-rnn file: one BOM, old-Mac CR line endings only, valid UTF-8.
    assert (r.boms_dropped, r.crlf_normalized, r.cr_normalized, r.bad_bytes_replaced) == (1, 0, 62016, 0)
    assert r.chars == 3_196_214
