"""Numbers for axes and cards, Qt-free: SI labels, 1-2-5 ceilings, times before now."""

from __future__ import annotations

import math
from typing import Any


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


#: Spacings of a time axis, seconds.
TIME_STEPS = (5, 10, 15, 30, 60, 120, 300, 600)


def time_ticks(span: float, pixels: float, every: float = 90.0) -> tuple[float, list[float]]:
    """Major step and minor tick positions (seconds before now, <= 0) of a time axis
    `pixels` wide showing the last `span` seconds: a label every `every` pixels at most."""
    most = max(2, int(pixels / every))
    step = float(TIME_STEPS[-1] * 3)
    for candidate in TIME_STEPS:
        if span / candidate <= most:
            step = float(candidate)
            break
    minor = step / 5 if step in (5, 10, 300) else step / 3 if step == 15 else step / 2
    count = int(span / minor + 1e-9)
    return step, [-i * minor for i in range(count + 1)]


def value_ticks(top: float, pixels: float, every: float = 28.0) -> list[float]:
    """Ticks from 0 to `top` on a 1-2-5 step, one every `every` pixels at least."""
    if top <= 0 or pixels <= 0:
        return [0.0]
    most = max(1, int(pixels / every))
    step = nice_ceiling(top / most)
    count = int(top / step + 1e-9)
    return [i * step for i in range(count + 1)]


def peak_downsample(x: Any, y: Any, points: int) -> tuple[Any, Any]:
    """At most about `points` points that keep every peak: the minimum and maximum of each
    run of samples (pyqtgraph's 'peak' mode), for curves with more samples than pixels."""
    import numpy as np

    n = len(y)
    if points < 2 or n <= points:
        return x, y
    per = int(np.ceil(2 * n / points))
    cut = (n // per) * per
    if cut < per:
        return x, y
    ys = y[:cut].reshape(-1, per)
    out_x = np.empty(2 * len(ys))
    out_x[0::2] = x[:cut:per]  # each run from its first sample's time to its last's
    out_x[1::2] = x[per - 1 : cut : per]
    out_y = np.empty(2 * len(ys))
    out_y[0::2] = ys.min(axis=1)
    out_y[1::2] = ys.max(axis=1)
    if cut < n:  # the newest samples as they are, so the curve ends at its last value
        out_x = np.concatenate([out_x, x[cut:]])
        out_y = np.concatenate([out_y, y[cut:]])
    return out_x, out_y
