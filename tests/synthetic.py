"""A tiny learnable corpus for tests that run whole workloads (run, sweep, study)."""

from __future__ import annotations

import numpy as np

WORDS = "the array stores a weight as conductance pulses update rows and columns in one analog step".split()


def synthetic_text(chars: int = 6000, seed: int = 0) -> str:
    """Word salad over a 15-word vocabulary with punctuation and newlines: learnable, tiny."""
    rng = np.random.default_rng(seed)
    out, length = [], 0
    while length < chars:
        sentence = " ".join(rng.choice(WORDS, size=rng.integers(4, 10))) + ".\n"
        out.append(sentence.capitalize())
        length += len(sentence)
    return "".join(out)[:chars]
