"""The warnings of a run: signs that its numbers should not be quoted as they are.

Each warning is ``{"kind", "subject", "message"}`` (subject: ``rpu``, ``fp`` or ``chip``) in the
``warnings`` list of train.json and report.json; the terminal summary and report.md print them,
and sweeps and comparisons mark the points that have any. The kinds:

- ``not_below_unigram``: a network's test loss is not clearly (``UNIGRAM_MARGIN``, 5 %) below the
  unigram loss, the cross-entropy of the test split under the training split's character
  frequencies: it learnt little more than how often each character occurs.
- ``not_converged``: the validation loss still fell by more than ``CONVERGED_DROP`` (1 %) over the
  last epoch, or only one epoch was trained so that this cannot be told: an undertrained network,
  and a gap between two undertrained networks says little about the devices.
- ``diverged``: a final loss more than ``ABSURD_OVER_UNIFORM`` (10 %) above uniform guessing,
  log(vocabulary), which any network scores by predicting nothing: finite, but training went
  unstable (a lower ``training.lr`` helps).
- ``sizing_check``: a sizing rule of the chip (``hardware.checks``: the SNR rule, IR drop, ADC
  jitter) fails, so the tile as described would not read its arrays reliably.
- ``chip_limit``: the chip exceeds what can be built (``hardware.warnings``: a die beyond the
  lithography field, a power density beyond what a package cools).
"""

from __future__ import annotations

import math
from typing import Any

from .metrics import lookup

UNIGRAM_MARGIN = 0.05
CONVERGED_DROP = 0.01
ABSURD_OVER_UNIFORM = 0.10
SUBJECTS = {"rpu": "RPU network", "fp": "floating-point twin"}
# One letter per kind, for the columns of sweep and comparison tables (``LEGEND`` explains them).
CODES = {"not_below_unigram": "U", "not_converged": "C", "diverged": "D", "sizing_check": "S", "chip_limit": "L"}
LEGEND = ("warnings: U test loss not clearly below the unigram loss, C not converged, D diverged, S chip sizing"
          " check fails, L chip beyond a limit (reticle, power density; each point's report.md says more)")


def _warning(kind: str, subject: str, message: str) -> dict[str, str]:
    return {"kind": kind, "subject": subject, "message": message}


def warnings_of(report: dict[str, Any]) -> list[dict[str, str]]:
    """The warnings of a train.json or report.json document, from its numbers alone."""
    out = []
    unigram = lookup(report, "accuracy.unigram.test_loss")
    vocab = report.get("network", {}).get("vocab_size")
    uniform = math.log(vocab) if isinstance(vocab, int) and vocab > 1 else None
    for side in ("rpu", "fp"):
        name = SUBJECTS[side]
        test = lookup(report, f"accuracy.{side}.test_loss")
        if test is not None and unigram is not None and test > (1 - UNIGRAM_MARGIN) * unigram:
            out.append(_warning(
                "not_below_unigram", side,
                f"the {name}'s test loss {test:.4f} nats/char is not clearly below the unigram loss"
                f" {unigram:.4f} (character frequencies only; {UNIGRAM_MARGIN:.0%} margin): it learnt little"
                " beyond how often each character occurs.",
            ))
        curve = report.get("accuracy", {}).get(side, {}).get("curve") or []
        valid = [c.get("valid_loss") for c in curve if isinstance(c.get("valid_loss"), (int, float))]
        if len(valid) == 1:
            out.append(_warning(
                "not_converged", side,
                f"the {name} trained one epoch only, so whether it converged is not known (the check"
                " compares the validation loss of the last two epochs); train more epochs before quoting it.",
            ))
        elif len(valid) > 1 and valid[-2] > 0 and (valid[-2] - valid[-1]) / valid[-2] > CONVERGED_DROP:
            drop = (valid[-2] - valid[-1]) / valid[-2]
            out.append(_warning(
                "not_converged", side,
                f"the {name}'s validation loss still fell by {drop:.1%} over the last epoch"
                f" ({valid[-2]:.4f} -> {valid[-1]:.4f} nats/char; converged means under {CONVERGED_DROP:.0%}):"
                " it is undertrained; train more epochs.",
            ))
        finals = {split: lookup(report, f"accuracy.{side}.{split}_loss") for split in ("train", "valid", "test")}
        absurd = {s: v for s, v in finals.items() if v is not None and uniform is not None and v > (1 + ABSURD_OVER_UNIFORM) * uniform}
        if absurd:
            shown = ", ".join(f"{s} {v:.4g}" for s, v in absurd.items())
            out.append(_warning(
                "diverged", side,
                f"the {name} diverged: its final loss ({shown} nats/char) is above uniform guessing over the"
                f" {vocab} symbols ({uniform:.4f}); lower training.lr.",
            ))
    for name, check in (report.get("hardware", {}).get("checks") or {}).items():
        if isinstance(check, dict) and check.get("ok") is False:
            value = check.get("value")
            shown = f" gives {value:.3g}" if isinstance(value, (int, float)) else ""
            out.append(_warning("sizing_check", "chip", f"the chip's sizing check {name} fails: {check.get('rule')}{shown}."))
    for message in report.get("hardware", {}).get("warnings") or []:  # reticle, power density
        out.append(_warning("chip_limit", "chip", str(message)))
    return out


def warning_lines(report: dict[str, Any]) -> list[str]:
    """The report's warnings, one sentence each, for people."""
    return [str(w.get("message")) for w in report.get("warnings") or []]


def codes(warnings: list[dict[str, str]] | None) -> str:
    """The letters (``CODES``) of the kinds among ``warnings``, e.g. ``"U C"``; "" when none."""
    kinds = {w.get("kind") for w in warnings or []}
    return " ".join(code for kind, code in CODES.items() if kind in kinds)
