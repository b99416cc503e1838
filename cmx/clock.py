"""The wall clock that cache expiry and entry ages are measured with.

``CMX_CLOCK_SHIFT`` (seconds, or a duration such as ``2h``; may be negative)
moves this clock, and only this clock, forward or back. It exists so that tests
(and users checking what ``gc`` would do tomorrow) can see expiry happen
through the real code paths without waiting. Standard library only: the fast
path imports it.
"""

from __future__ import annotations

import os
import time

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _shift() -> float:
    text = os.environ.get("CMX_CLOCK_SHIFT", "").strip()
    if not text:
        return 0.0
    try:
        if text[-1] in _UNITS:
            return float(text[:-1]) * _UNITS[text[-1]]
        return float(text)
    except ValueError:
        return 0.0  # a bad value must not break every command; `now` is then the real clock


def now() -> float:
    """Seconds since the epoch, shifted by ``CMX_CLOCK_SHIFT``."""
    return time.time() + _shift()
