"""Character data for the language model: vocabulary, contiguous split, char-rnn batching.

The vocabulary is the set of characters of the training split (sorted by code point). Characters
of the valid/test splits that training never saw map to one extra unknown symbol, appended to the
vocabulary only when such characters exist, and are counted.

Batching as in char-rnn: the training ids are cut into ``streams`` contiguous segments, one per
parallel stream; an epoch walks them in windows of ``seq_length`` steps (the truncated
back-propagation horizon), and the hidden state is carried from one window to the next.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..config import DatasetConfig
from ..errors import ConfigError
from .corpus import Corpus

UNKNOWN = "\u2400"  # how the unknown symbol is shown (SYMBOL FOR NULL); it is never a real character
SPLIT_NAMES = ("train", "valid", "test")


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


@dataclass
class Vocabulary:
    """Characters (code points, sorted) of the training split; ``unknown`` is the id of the extra
    unknown symbol, or None when every character of the corpus was seen in training."""

    codes: np.ndarray
    unknown: int | None

    @property
    def size(self) -> int:
        return len(self.codes) + (self.unknown is not None)

    @property
    def symbols(self) -> list[str]:
        return [chr(c) for c in self.codes] + ([UNKNOWN] if self.unknown is not None else [])

    def encode(self, codes: np.ndarray) -> tuple[np.ndarray, int]:
        """Ids of the code points (``id_dtype``) and how many of them were unknown."""
        index = np.searchsorted(self.codes, codes)
        index_clipped = np.minimum(index, len(self.codes) - 1)
        known = self.codes[index_clipped] == codes
        unseen = int(codes.size - np.count_nonzero(known))
        if unseen and self.unknown is None:
            raise ValueError("characters outside the vocabulary and no unknown symbol")
        ids = np.where(known, index_clipped, self.unknown if self.unknown is not None else 0)
        return ids.astype(self.id_dtype), unseen

    @property
    def id_dtype(self) -> type[np.unsignedinteger]:
        """uint16 while every id fits (the common case: half the memory), else uint32."""
        return np.uint16 if self.size <= 1 << 16 else np.uint32


@dataclass
class CharData:
    """A corpus split into train/valid/test ids over one vocabulary."""

    vocab: Vocabulary
    splits: dict[str, np.ndarray]  # name -> ids (Vocabulary.id_dtype)
    unknown_counts: dict[str, int]  # name -> characters mapped to the unknown symbol
    corpus: Corpus

    @property
    def digest(self) -> str:
        """sha256 of the vocabulary and the ids: a checkpoint is only resumed on the same data."""
        h = hashlib.sha256(self.vocab.codes.tobytes())
        for name in SPLIT_NAMES:
            h.update(self.splits[name].tobytes())
        return h.hexdigest()

    def summary(self) -> dict:
        return {
            "source": self.corpus.report.source,
            "files": self.corpus.report.files,
            "chars": {name: int(self.splits[name].size) for name in SPLIT_NAMES},
            "vocab_size": self.vocab.size,
            "vocab": "".join(self.vocab.symbols),
            "unknown_symbol": self.vocab.unknown is not None,
            "unknown_chars": dict(self.unknown_counts),
            "text": self.corpus.report.to_dict(),
        }


def unigram_loss(train_ids: np.ndarray, ids: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy (nats/char) of ``ids`` under the character frequencies of ``train_ids``: the
    loss of a model that learnt nothing but frequencies, the bar a trained network must clear.

    Both are ids of one ``Vocabulary``, so characters training never saw are the unknown symbol,
    as the networks see them. Add-one smoothed, so that every symbol (the unknown one too) has a
    finite loss."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[ids].mean())


def split_corpus(corpus: Corpus, dataset: DatasetConfig) -> CharData:
    codes = code_points(corpus.text)
    n = codes.size
    edges = [0, round(n * dataset.split[0]), round(n * (dataset.split[0] + dataset.split[1])), n]
    parts = {name: codes[a:b] for name, a, b in zip(SPLIT_NAMES, edges[:-1], edges[1:])}
    for name, part in parts.items():
        if part.size < 2:
            raise ConfigError(
                "workload", "dataset", f"the {name} split has {part.size} characters (corpus of {n} characters, "
                f"split {dataset.split}); give more text or a larger max_chars."
            )
    train_codes = np.unique(parts["train"])
    if train_codes.size < 2:
        raise ConfigError(
            "workload", "dataset", f"the training split is one character repeated ({chr(train_codes[0])!r}):"
            " a model of it predicts that character with certainty and learns nothing; give a real text."
        )
    held_out = np.concatenate([parts["valid"], parts["test"]])
    has_unseen = not np.isin(held_out, train_codes).all()
    vocab = Vocabulary(train_codes, len(train_codes) if has_unseen else None)
    splits, unknown = {}, {}
    for name, part in parts.items():
        splits[name], unknown[name] = vocab.encode(part)
    return CharData(vocab, splits, unknown, corpus)


@dataclass(frozen=True)
class StreamBatches:
    """char-rnn windows over ``ids``: ``streams`` contiguous segments walked ``seq_length`` steps
    at a time. Window ``k`` holds inputs ``(seq_length, streams)`` and the next characters."""

    ids: np.ndarray
    streams: int
    seq_length: int

    @property
    def segment(self) -> int:
        """Characters per stream (the last character of the text is only ever a target)."""
        return (self.ids.size - 1) // self.streams

    @property
    def windows(self) -> int:
        """Complete windows per pass; a remainder shorter than seq_length is not used."""
        return self.segment // self.seq_length

    @property
    def predicted(self) -> np.ndarray:
        """The ids that a pass over every segment predicts (``eval_windows``): each stream's
        characters after its first."""
        return self.ids[1 : 1 + self.streams * self.segment]

    @property
    def chars_per_window(self) -> int:
        return self.seq_length * self.streams

    def window(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of window ``k``, each (seq_length, streams), time-major."""
        starts = np.arange(self.streams) * self.segment + k * self.seq_length
        steps = np.arange(self.seq_length)[:, None]
        positions = starts[None, :] + steps
        return self.ids[positions], self.ids[positions + 1]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for k in range(self.windows):
            yield self.window(k)


def eval_batches(ids: np.ndarray, streams: int, seq_length: int, max_chars: int | None) -> StreamBatches:
    """Windows that cover (a prefix of) a held-out split with as many streams as fit."""
    if max_chars is not None:
        ids = ids[: max_chars + 1]
    streams = max(1, min(streams, (ids.size - 1) // 2))
    segment = (ids.size - 1) // streams
    return StreamBatches(ids, streams, max(1, min(seq_length, segment)))


def eval_windows(batches: StreamBatches) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """All windows of a pass, the last one shortened so that every stream's segment is covered."""
    yield from batches
    done = batches.windows * batches.seq_length
    rest = batches.segment - done
    if rest > 0:
        starts = np.arange(batches.streams) * batches.segment + done
        positions = starts[None, :] + np.arange(rest)[:, None]
        yield batches.ids[positions], batches.ids[positions + 1]


def check_trainable(data: CharData, streams: int, seq_length: int) -> StreamBatches:
    batches = StreamBatches(data.splits["train"], streams, seq_length)
    if batches.windows < 1:
        need = streams * seq_length + 1
        raise ConfigError(
            "workload", "training.streams",
            f"the training split has {data.splits['train'].size} characters, fewer than streams x seq_length + 1"
            f" = {need}; lower training.streams or training.seq_length, or give more text.",
        )
    return batches

