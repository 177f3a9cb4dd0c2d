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


# A study's base workload: a small LSTM on the synthetic corpus, a run in well under a second.
TINY_STUDY_WORKLOAD = {
    "name": "tiny",
    "seed": 1,
    "dataset": {"path": "corpus.txt"},
    "network": {"layers": 1, "hidden": 8},
    "training": {"epochs": 2, "lr": 0.05, "streams": 4, "seq_length": 16, "max_windows_per_epoch": 6,
                 "update_mode": "aggregated", "eval_chars": 300, "eval_streams": 4},
    "device": {"preset": "gokmen-vlasov-2016"},
    "tile": {"rows": 64, "cols": 64},
}


def write_study_workload(directory) -> None:
    """``corpus.txt`` and ``workload.yaml`` (TINY_STUDY_WORKLOAD) in ``directory``, for study files beside them."""
    import yaml

    (directory / "corpus.txt").write_text(synthetic_text())
    (directory / "workload.yaml").write_text(yaml.safe_dump(TINY_STUDY_WORKLOAD))


def write_study(directory, study: dict, name: str = "study.yaml"):
    """A study file in ``directory`` (beside write_study_workload's files); its path."""
    import yaml

    path = directory / name
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path
