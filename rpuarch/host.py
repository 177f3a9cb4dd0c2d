"""The machine a speed was measured on: its load and CPUs, and the speed a few timings give.

The measured-host baseline is the floating-point twin's training speed on this machine. On a
shared machine that speed follows the load, so every epoch's time is recorded with the load average at its end, the baseline takes the
median of the epochs' speeds (one disturbed epoch does not move it), and the report states the load.
"""

from __future__ import annotations

import math
import os
import statistics


def machine_load() -> dict:
    """The 1-minute load average (NaN where the OS has none), CPUs, and CPUs this process may use."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = math.nan
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"load_avg_1m": load, "cpus": os.cpu_count(), "usable_cpus": usable}


def speed_of_epochs(epochs: list[dict]) -> dict | None:
    """The measured-host figure from per-epoch ``{"train_s", "train_chars", "load_avg_1m", "cpus"}``:
    the median speed, how it was taken, and the load it was taken at; None without epochs."""
    timed = [e for e in epochs if e.get("train_s", 0) > 0]
    if not timed:
        return None
    loads = [e["load_avg_1m"] for e in timed if not math.isnan(e.get("load_avg_1m", math.nan))]
    n = len(timed)
    return {
        "chars_per_s": statistics.median(e["train_chars"] / e["train_s"] for e in timed),
        "statistic": f"median of {n} epochs' training speeds" if n > 1 else "one epoch's training speed",
        "load_avg_1m": statistics.median(loads) if loads else math.nan,
        "load_avg_1m_range": [min(loads), max(loads)] if loads else None,
        "cpus": timed[-1].get("cpus"),
        "usable_cpus": timed[-1].get("usable_cpus"),
    }
