"""Get the text of a corpus: named corpora (cached downloads, installed headers) or user files.

Real text is messy, so reading it is a documented policy with a report of what was done:

- bytes are decoded as UTF-8; with ``encoding_errors: replace`` every byte that is not part of
  valid UTF-8 becomes one U+FFFD character (counted), with ``strict`` the file is refused;
- with ``newlines: normalize`` a byte-order mark at the start of each file is dropped and CRLF
  and lone CR become LF (all counted); with ``keep`` they stay as characters of the vocabulary.

Files of a directory or glob are read in sorted order and concatenated as they are.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import DatasetConfig
from ..errors import ConfigError, UserError

LINUX_HEADERS_DIR = Path("/usr/include/linux")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a non-UTF-8 byte


@dataclass(frozen=True)
class RemoteCorpus:
    """A corpus fetched once into the user cache and checked against its sha256."""

    filename: str
    url: str
    sha256: str
    size: int
    what: str


# The char-rnn copies the LSTM papers trained on (Karpathy et al. 2015); hashes as in
# ../shared/data/README.md.
REMOTE_CORPORA = {
    "warpeace": RemoteCorpus(
        "warpeace_input.txt",
        "https://cs.stanford.edu/people/karpathy/char-rnn/warpeace_input.txt",
        "0139dcd32c37853541e8710281c32d823bb8ea86a86578916305bad06e3da0ea",
        3_196_234,
        "Tolstoy, War and Peace (Project Gutenberg #2600), the char-rnn copy",
    ),
    "tinyshakespeare": RemoteCorpus(
        "tinyshakespeare_input.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        1_115_394,
        "tiny-shakespeare (char-rnn)",
    ),
}


@dataclass
class TextReport:
    """What reading the corpus did to its bytes."""

    source: str
    files: int = 0
    bytes: int = 0  # read (with max_chars, only as many as that many characters can need)
    chars: int = 0  # of what was read, after decoding and normalisation, before max_chars
    newlines: str = "normalize"
    encoding_errors: str = "replace"
    boms_dropped: int = 0
    crlf_normalized: int = 0  # CRLF pairs that became LF
    cr_normalized: int = 0  # lone CRs that became LF
    bad_bytes_replaced: int = 0  # non-UTF-8 bytes that became U+FFFD
    truncated_to: int | None = None  # max_chars, when it cut the text
    sha256: str = ""  # of the text used (after max_chars), UTF-8: what results are keyed on

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Corpus:
    text: str
    report: TextReport
    file_list: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    """Where downloaded corpora live: $RPUARCH_CACHE, else $XDG_CACHE_HOME/rpuarch, else ~/.cache/rpuarch."""
    if os.environ.get("RPUARCH_CACHE"):
        return Path(os.environ["RPUARCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rpuarch"


def sha256_of(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_remote(name: str, directory: Path | None = None, url: str | None = None) -> Path:
    """The cached file of a remote corpus, downloading it (once) when absent; checks its sha256."""
    corpus = REMOTE_CORPORA[name]
    directory = directory or cache_dir()
    target = directory / corpus.filename
    if target.is_file():
        if sha256_of(target) == corpus.sha256:
            return target
        raise UserError(
            f"dataset.name: the cached {name} corpus {target} does not match its sha256 "
            f"({corpus.sha256[:12]}...): delete it to download it again, or give dataset.path."
        )
    url = url or corpus.url
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{corpus.filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            shutil.copyfileobj(response, out)
        got = sha256_of(Path(tmp))
        if got != corpus.sha256:
            raise UserError(
                f"dataset.name: the {name} corpus downloaded from {url} has sha256 {got[:12]}..., not the "
                f"expected {corpus.sha256[:12]}...; it was not kept. Give a local copy with dataset.path."
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"dataset.name: cannot download the {name} corpus ({corpus.what}) from {url}: {reason}. "
            f"If this machine is offline, copy the file to {target} (sha256 {corpus.sha256}), or point "
            f"dataset.path at a local copy, or use dataset.name: linux-headers (installed, offline)."
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _files_below(directory: Path) -> list[Path]:
    return sorted((p for p in directory.rglob("*") if p.is_file()), key=lambda p: p.relative_to(directory).as_posix())


def corpus_files(dataset: DatasetConfig) -> tuple[str, list[Path]]:
    """(a description of the source, the files to read in order)."""
    if dataset.name == "linux-headers":
        if not LINUX_HEADERS_DIR.is_dir():
            raise UserError(
                f"dataset.name: linux-headers reads the installed kernel headers in {LINUX_HEADERS_DIR}, "
                "which this machine does not have (Debian/Ubuntu: apt install linux-libc-dev). "
                "Or give a text file, directory or glob with dataset.path."
            )
        return f"linux-headers ({LINUX_HEADERS_DIR})", _files_below(LINUX_HEADERS_DIR)
    if dataset.name is not None:
        path = fetch_remote(dataset.name)
        return f"{dataset.name} ({path})", [path]
    assert dataset.path is not None
    spec = dataset.path
    if any(ch in spec for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True) if Path(p).is_file())
        if not files:
            raise ConfigError("workload", "dataset.path", f"the glob {spec!r} matches no files.")
        return spec, files
    path = Path(spec).expanduser()
    if path.is_dir():
        files = _files_below(path)
        if not files:
            raise ConfigError("workload", "dataset.path", f"the directory {spec!r} holds no files.")
        return spec, files
    if path.is_file():
        return spec, [path]
    raise ConfigError("workload", "dataset.path", f"{str(path.absolute())!r} is not a file, directory or glob that exists"
                      " (a path in a workload file is relative to that file, one on --set to the working directory).")


def decode(data: bytes, name: str, dataset: DatasetConfig, report: TextReport) -> str:
    """Bytes of one file to text, applying (and counting) the dataset's policy."""
    if dataset.encoding_errors == "strict":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"dataset: {name} is not UTF-8 (byte {exc.start} is 0x{data[exc.start]:02x}) and "
                "dataset.encoding_errors is strict; set it to replace to read the file anyway."
            ) from None
    else:
        # surrogateescape maps each bad byte to one lone surrogate: count, then replace.
        text = data.decode("utf-8", errors="surrogateescape")
        text, bad = _ESCAPED_BYTE.subn("\ufffd", text)
        report.bad_bytes_replaced += bad
    if dataset.newlines == "normalize":
        if text.startswith("\ufeff"):
            text = text[1:]
            report.boms_dropped += 1
        crlf = text.count("\r\n")
        if crlf:
            text = text.replace("\r\n", "\n")
        cr = text.count("\r")
        if cr:
            text = text.replace("\r", "\n")
        report.crlf_normalized += crlf
        report.cr_normalized += cr
    return text


def read_corpus(dataset: DatasetConfig) -> Corpus:
    """The text of the workload's dataset, decoded and normalised, cut to max_chars.

    With max_chars only the start of the corpus is read: the files in order, each no further than
    ``prefix_bytes`` of the characters still missing (so a 5,000-character prefix of a 300 MB file
    costs kilobytes, not the file)."""
    source, files = corpus_files(dataset)
    report = TextReport(source=source, newlines=dataset.newlines, encoding_errors=dataset.encoding_errors)
    parts: list[str] = []
    have = 0
    for path in files:
        if dataset.max_chars is not None and have >= dataset.max_chars:
            break
        data = read_prefix(path, None if dataset.max_chars is None else dataset.max_chars - have)
        report.files += 1
        report.bytes += len(data)
        parts.append(decode(data, str(path), dataset, report))
        have += len(parts[-1])
    text = "".join(parts)
    report.chars = len(text)
    if dataset.max_chars is not None and len(text) > dataset.max_chars:
        text = text[: dataset.max_chars]
        report.truncated_to = dataset.max_chars
    report.sha256 = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    return Corpus(text, report, [str(p) for p in files[: report.files]])


def prefix_bytes(chars: int) -> int:
    """Bytes that always decode to more than ``chars`` characters: a character takes at most 4
    bytes of UTF-8 (a CRLF pair 2, a bad byte 1), plus a byte-order mark and a spare character
    (a CR at the end may be the first half of a CRLF)."""
    return 4 * (chars + 2) + 3


def read_prefix(path: Path, chars: int | None) -> bytes:
    """The bytes of ``path``; with ``chars``, no more of them than ``prefix_bytes(chars)``, cut at a
    character boundary, so that the decoded start is that of the whole file."""
    if chars is None:
        return path.read_bytes()
    limit = prefix_bytes(chars)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) <= limit:
        return data
    end = limit
    while end > limit - 3 and data[end - 1] & 0xC0 == 0x80:  # back over continuation bytes
        end -= 1
    if data[end - 1] >= 0xC0:  # and the lead byte whose sequence they would have completed
        end -= 1
    return data[:end]
