"""Acceptance: on a 200 KB prefix of War and Peace a 1 x 64 LSTM learns, on ideal
devices behind the realistic periphery and on the gokmen-vlasov-2016 device, close to its
floating-point twin.

Setup: 16 streams x 50 steps, aggregated updates, lr 0.05, 2 epochs over the 160,000 training
characters (about 15 s per test on 2 idle cores). "Learns" means a test loss well below what a
model of the character frequencies alone scores (the unigram loss, 3.06 nats/char here), not just
below log(vocab) = 4.33. Tolerances come from seeds 1-4 of this setup (docs/training.md), in
nats/char: ideal devices gave RPU test losses 2.300-2.312 with |RPU - FP| <= 0.010; the
gokmen-vlasov-2016 device 2.360-2.429 with RPU - FP 0.050-0.130. The bounds below leave the
loss 0.23 above the worst seed (3x the seed spread) and the gap 2.3x (gokmen) and 5x (ideal)
the largest one seen.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rpuarch.config import load_workload
from rpuarch.nn.train import train

WARPEACE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "warpeace_input.txt"
pytestmark = [
    pytest.mark.skipif(not WARPEACE.is_file(), reason="../shared/data/warpeace_input.txt is not present"),
    pytest.mark.slow,
]


def train_on_war_and_peace(tmp_path, device: str) -> dict:
    path = tmp_path / "wp.yaml"
    path.write_text(
        f"name: wp-200k\nseed: 1\ndataset: {{path: {WARPEACE}, max_chars: 200000}}\n"
        "network: {layers: 1, hidden: 64}\n"
        "training: {epochs: 2, lr: 0.05, streams: 16, seq_length: 50, update_mode: aggregated}\n" + device
    )
    return train(load_workload(path), progress=False)


def test_ideal_devices_behind_the_analog_periphery_learn_like_floating_point(tmp_path):
    result = train_on_war_and_peace(tmp_path, "device: {type: ideal}\n")  # 7/9-bit converters, 6 % noise
    rpu, fp = result["accuracy"]["rpu"]["test_loss"], result["accuracy"]["fp"]["test_loss"]
    unigram, vocab = result["accuracy"]["unigram"]["test_loss"], result["network"]["vocab_size"]
    assert vocab == 76 and unigram == pytest.approx(3.06, abs=0.01)
    assert rpu < math.log(vocab) - 1.5 and rpu < unigram - 0.5
    assert abs(rpu - fp) < 0.05


def test_gokmen_vlasov_device_still_learns(tmp_path):
    result = train_on_war_and_peace(tmp_path, "device: {preset: gokmen-vlasov-2016}\n")
    rpu, fp = result["accuracy"]["rpu"]["test_loss"], result["accuracy"]["fp"]["test_loss"]
    assert rpu < result["accuracy"]["unigram"]["test_loss"] - 0.4
    assert rpu - fp < 0.3
    assert result["activity"]["coincidences"] > 0 and result["activity"]["updates"] > 0
