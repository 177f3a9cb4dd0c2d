"""What the aggregated update mode changes against the exact one, measured.

Both modes apply the same batch of rank-1 updates with the same pulse statistics; exact applies
them one after another, aggregated counts the up and down coincidences of the whole batch and
applies them at once. Differences can only come from (a) the bounds: a device that reaches a bound
inside the batch loses steps in exact mode that aggregated mode lets cancel against steps the
other way; (b) soft bounds: aggregated takes the steps as evenly interleaved from the weight at
the start of the batch.

``compare_modes`` runs R replicates of one fixed batch in both modes from the same initial
weights and devices, and reports per scenario:
- ``bias``: RMS over devices of E_agg[W] - E_exact[W] in units of dw_min (pulse steps), beside
  ``bias_floor``, what the replicate noise alone gives (RMS of the standard error of the
  difference, same unit); ``mean_update``: RMS of E_exact[W] - W0 in the same unit;
- ``significant``: fraction of devices whose two means differ by more than 4.5 standard errors;
- ``spread_ratio``: pooled replicate variance, aggregated / exact;
- ``at_bound_exact`` / ``at_bound_aggregated``: fraction of final weights at a bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..config import resolve
from .benchmark import IN_SIZE, LR, OUT_SIZE, lstm_pairs
from .tile import AnalogTile

SCENARIOS = {
    "typical": "weights N(0, 0.1): far from most bounds",
    "saturated": "every weight at one of its device's bounds",
}


@dataclass
class ModeComparison:
    preset: str
    scenario: str
    batch: int
    replicates: int
    bias: float
    bias_floor: float
    mean_update: float
    significant: float
    spread_ratio: float
    at_bound_exact: float
    at_bound_aggregated: float


def compare_modes(preset: str, scenario: str, batch: int = 1600, replicates: int = 20, d_std: float = 0.02,
                  seed: int = 0) -> ModeComparison:
    """Run one fixed batch of LSTM-like pairs in both modes, ``replicates`` times each."""
    workload, _ = resolve({"device": {"preset": preset}}, preset)
    rng = np.random.default_rng(seed)
    base = AnalogTile(OUT_SIZE, IN_SIZE, workload.device, workload.io, workload.update, np.random.default_rng(seed))
    dev = base.devices
    if scenario == "typical":
        base.weights = rng.normal(0.0, 0.1, (OUT_SIZE, IN_SIZE))
    else:
        base.weights = np.where(rng.random((OUT_SIZE, IN_SIZE)) < 0.5, dev.w_max, dev.w_min)
    w0 = base.weights.copy()
    x, d = lstm_pairs(batch, d_std, rng)

    finals = {}
    for mode in ("exact", "aggregated"):
        out = np.empty((replicates, OUT_SIZE, IN_SIZE))
        for r in range(replicates):
            tile = AnalogTile(OUT_SIZE, IN_SIZE, workload.device, workload.io, workload.update,
                              np.random.default_rng(seed), mode)  # the same devices every time
            tile.reseed(np.random.default_rng([seed, r, mode == "exact"]))  # new pulse trains and noise
            tile.weights = w0
            tile.update(x, d, LR)
            out[r] = tile.weights
        finals[mode] = out
    exact, agg = finals["exact"], finals["aggregated"]
    step = workload.device.granularity
    mean_update = exact.mean(0) - w0
    shift = agg.mean(0) - exact.mean(0)
    se = np.sqrt((exact.var(0, ddof=1) + agg.var(0, ddof=1)) / replicates)
    moving = se > 0
    z = np.zeros_like(se)
    z[moving] = shift[moving] / se[moving]
    at_bound = lambda w: float(np.mean(np.isclose(w, dev.w_max) | np.isclose(w, dev.w_min)))  # noqa: E731
    return ModeComparison(
        preset=preset,
        scenario=scenario,
        batch=batch,
        replicates=replicates,
        bias=float(np.sqrt(np.mean(shift**2)) / step),
        bias_floor=float(np.sqrt(np.mean(se**2)) / step),
        mean_update=float(np.sqrt(np.mean(mean_update**2)) / step),
        significant=float(np.mean((np.abs(z) > 4.5) | (~moving & (shift != 0)))),
        spread_ratio=float(agg.var(0, ddof=1).sum() / exact.var(0, ddof=1).sum()),
        at_bound_exact=at_bound(exact),
        at_bound_aggregated=at_bound(agg),
    )


def to_dict(result: ModeComparison) -> dict:
    return asdict(result)
