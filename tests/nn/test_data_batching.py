"""Vocabulary from the training split, the unknown symbol, the contiguous split, char-rnn batching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rpuarch.config import DatasetConfig
from rpuarch.errors import ConfigError
from rpuarch.nn.corpus import Corpus, TextReport
from rpuarch.nn.data import (UNKNOWN, StreamBatches, check_trainable, eval_batches, eval_windows, split_corpus,
                             unigram_loss)


def split(text: str, fractions=(0.8, 0.1, 0.1)):
    return split_corpus(Corpus(text, TextReport("test")), DatasetConfig(path="x", split=fractions))


def test_contiguous_split_and_vocab_from_training_only():
    text = "ab" * 40 + "abcd" * 5  # train = the first 80 chars: only a and b
    data = split(text)
    assert [data.splits[s].size for s in ("train", "valid", "test")] == [80, 10, 10]
    assert data.vocab.symbols == ["a", "b", UNKNOWN] and data.vocab.size == 3
    # valid = "abcdabcdab", test = "cdabcdabcd": c and d are unknown
    assert data.unknown_counts == {"train": 0, "valid": 4, "test": 6}
    decoded = "".join(data.vocab.symbols[i] for i in data.splits["valid"])
    assert decoded == "ab" + UNKNOWN * 2 + "ab" + UNKNOWN * 2 + "ab"


def test_no_unknown_symbol_when_every_character_was_seen():
    data = split("abc" * 100)
    assert data.vocab.unknown is None and data.vocab.size == 3
    assert data.summary()["unknown_chars"] == {"train": 0, "valid": 0, "test": 0}


def test_ids_decode_back_to_the_text():
    text = "Hello, wörld! ☃\n" * 50
    data = split(text)
    ids = np.concatenate([data.splits[s] for s in ("train", "valid", "test")])
    assert "".join(data.vocab.symbols[i] for i in ids) == text


def test_unigram_loss_of_uniform_text_is_log_vocab():
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("abcdefgh"), 50_000))
    # Add-one smoothed frequencies of 40,000 uniform draws: within 0.1 % of log(8).
    data = split(text)
    assert unigram_loss(data.splits["train"], data.splits["test"], data.vocab.size) == pytest.approx(math.log(8), rel=1e-3)


def test_too_small_splits_are_refused():
    with pytest.raises(ConfigError, match="valid split"):
        split("abcdefghij", (0.95, 0.04, 0.01))


def test_stream_windows_walk_contiguous_segments():
    ids = np.arange(103)
    batches = StreamBatches(ids, streams=4, seq_length=5)
    assert batches.segment == 25 and batches.windows == 5
    x, y = batches.window(2)
    assert x.shape == (5, 4)
    # Stream s, window k, step t reads ids[s * 25 + k * 5 + t] and predicts the next one.
    np.testing.assert_array_equal(x[:, 1], np.arange(35, 40))
    np.testing.assert_array_equal(y, x + 1)
    # Consecutive windows continue each stream where the last one stopped (state is carried).
    x3, _ = batches.window(3)
    np.testing.assert_array_equal(x3[0], x[-1] + 1)
    assert len(list(batches)) == 5


def test_eval_windows_cover_every_stream_segment_once():
    ids = np.arange(1000) % 7
    batches = eval_batches(ids, streams=6, seq_length=50, max_chars=None)
    seen = sum(x.size for x, _ in eval_windows(batches))
    assert seen == batches.streams * batches.segment == 6 * 166
    assert len(list(eval_windows(eval_batches(ids, 6, 50, max_chars=300)))) == 1  # 300 chars: 6 x 49
    # ``predicted`` is exactly the multiset of targets of that pass (what the unigram loss is measured on).
    targets = np.concatenate([y.reshape(-1) for _, y in eval_windows(batches)])
    np.testing.assert_array_equal(np.sort(targets), np.sort(batches.predicted))


def test_vocabularies_beyond_16_bit_ids_are_not_corrupted():
    # 70,000 distinct characters (CJK and beyond): ids up to 69,999 need more than 16 bits.
    symbols = "".join(chr(0x4E00 + i) for i in range(70_000))
    data = split(symbols * 2, (0.9, 0.05, 0.05))
    assert data.vocab.size == 70_000 and data.splits["train"].max() == 69_999
    ids = np.concatenate([data.splits[s] for s in ("train", "valid", "test")])
    vocab = data.vocab.symbols
    assert "".join(vocab[i] for i in ids) == symbols * 2


def test_unigram_loss_counts_unknown_symbols_as_training_does():
    # train: 54 a, 26 b; add-one over a, b and the unknown symbol: p = 55/83, 27/83, 1/83.
    data = split("aab" * 26 + "aa" + "a" * 8 + "zz" + "a" * 6 + "zzzz")
    assert data.vocab.size == 3 and data.unknown_counts["test"] == 4
    expected = -(6 * math.log(55 / 83) + 4 * math.log(1 / 83)) / 10
    assert unigram_loss(data.splits["train"], data.splits["test"], data.vocab.size) == pytest.approx(expected, rel=1e-12)


def test_training_split_smaller_than_one_window_is_refused():
    data = split("abcd" * 30)
    with pytest.raises(ConfigError, match="training.streams"):
        check_trainable(data, streams=4, seq_length=50)
