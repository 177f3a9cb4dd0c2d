"""Which text a study trains on: ``--data`` maps the study's corpus to a local file, and every
report names the file used with its sha256."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import DatasetConfig
from ..errors import ConfigError


def parse_data(items: list[str], corpora: list[str]) -> dict[str, Path]:
    """``["FILE"]`` or ``["KEY=FILE", ...]`` -> {corpus key: absolute path}. A bare FILE needs a
    study with one corpus."""
    out: dict[str, Path] = {}
    for item in items:
        key, sep, file = item.rpartition("=")
        if not sep:
            if len(corpora) != 1:
                raise ConfigError("--data", None, f"this study uses the corpora {', '.join(corpora)}: say which with KEY=FILE.")
            key = corpora[0]
        if key not in corpora:
            raise ConfigError("--data", key, "the study has no corpus of this name.", ", ".join(corpora))
        path = Path(file).expanduser().resolve()
        if not path.is_file():
            raise ConfigError("--data", key, f"{file} is not a file.")
        out[key] = path
    return out


def dataset_overrides(prefix: str, path: Path) -> list[str]:
    """A named corpus replaced by a local file (the dataset's other fields stay)."""
    return [f"{prefix}.name=null", f"{prefix}.path={path}"]


def provenance(dataset: DatasetConfig) -> dict[str, Any]:
    """The files a dataset section reads, their sizes and sha256, and whether they are the
    published copy of a named corpus."""
    from ..nn.corpus import REMOTE_CORPORA, corpus_files, sha256_of

    source, files = corpus_files(dataset)
    known = {c.sha256: name for name, c in REMOTE_CORPORA.items()}
    listed = []
    for path in files[:20]:
        digest = sha256_of(path)
        listed.append({"path": str(path), "bytes": path.stat().st_size, "sha256": digest, "is_corpus": known.get(digest)})
    return {
        "source": source,
        "files": len(files),
        "listed": listed,
        "bytes": sum(p.stat().st_size for p in files),
        "max_chars": dataset.max_chars,
    }


def describe(prov: dict[str, Any]) -> str:
    """One Markdown line: the file(s) and their sha256."""
    if prov["files"] == 1:
        f = prov["listed"][0]
        which = f" (the char-rnn `{f['is_corpus']}` corpus)" if f["is_corpus"] else ""
        return f"`{f['path']}`{which}, {f['bytes']:,} bytes, sha256 `{f['sha256']}`"
    return f"{prov['source']}: {prov['files']} files, {prov['bytes']:,} bytes (first: `{prov['listed'][0]['path']}`)"
