"""Numbers for axes and cards, Qt-free: SI labels, 1-2-5 ceilings, times before now."""

from __future__ import annotations

import math


def nice_ceiling(value: float) -> float:
    """The least of 1, 2, 5, 10, 20, 50, … that is >= `value` (> 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        top = step * 10.0**exponent
        if top >= value * (1 - 1e-12):
            return float(top)
    return float(10.0 ** (exponent + 1))


_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si_format(value: float, digits: int = 3) -> str:
    """A number in few characters: 950, 1.5k, 150k, 2.3M; small values keep a decimal."""
    if not math.isfinite(value):
        return "—"
    sign = "−" if value < 0 else ""
    v = abs(value)
    for factor, prefix in _SI:
        if v >= factor * 0.9995:
            scaled = v / factor
            text = _significant(scaled, digits)
            if float(text) >= 1000:  # 999.96k rounds up to the next prefix
                continue
            return f"{sign}{text}{prefix}"
    return f"{sign}{_significant(v, digits)}"


def _significant(v: float, digits: int) -> str:
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(v)))
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def time_text(seconds_ago: float) -> str:
    """A tick of the time axis: 'now', '−30 s', '−2 min', '−1:30'."""
    s = round(abs(seconds_ago))
    if s == 0:
        return "now"
    if s < 60:
        return f"−{s} s"
    minutes, rest = divmod(s, 60)
    return f"−{minutes} min" if rest == 0 else f"−{minutes}:{rest:02d}"
