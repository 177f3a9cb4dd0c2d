"""Numbers with units, for people: SI prefixes, a fixed number of significant digits."""

from __future__ import annotations

import math

_PREFIXES = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]
# Units that take an SI prefix; anything else is printed as a plain number and its unit.
SI_UNITS = {"s", "J", "W", "Ops/s", "Ops/s/W", "B", "Hz", "chars/s"}


def si(value: float | int | None, unit: str, digits: int = 3) -> str:
    """``si(2.5e-7, "s") == "250 ns"``; ``None`` and non-finite values print as "n/a"."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit not in SI_UNITS:
        return f"{plain(value, digits)} {unit}".rstrip()
    value = float(f"{value:.{digits}g}")  # round first, so 999.96 s becomes 1.00 ks
    magnitude = abs(value)
    if magnitude == 0:
        return f"0 {unit}"
    for scale, prefix in _PREFIXES:
        if magnitude >= scale:
            return f"{_sig(value / scale, digits)} {prefix}{unit}"
    scale, prefix = _PREFIXES[-1]
    return f"{_sig(value / scale, digits)} {prefix}{unit}"


def plain(value: float | int | None, digits: int = 4) -> str:
    """A number without prefix: integers with thousands separators, floats to ``digits`` figures."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15 and digits >= 4):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e6 or magnitude < 1e-3):
        return f"{value:.{digits - 1}e}"
    return _sig(value, digits)


def _sig(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(value)))))
    return f"{value:,.{decimals}f}"


def factor(value: float | None) -> str:
    """A ratio such as an acceleration factor: ``factor(31234.5) == "31,234x"``, ``factor(2.5) == "2.50x"``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{_sig(value, 3)}x"


def percent(value: float | None) -> str:
    """A fraction as a percentage: one decimal, or two significant digits below 1 %."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value != 0 and abs(value) < 0.01:
        return f"{100 * value:.2g} %"
    return f"{100 * value:.1f} %"
