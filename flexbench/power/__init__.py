"""Power and energy of a benchmark run, in LoadGen's power window.

A *backend* samples power or an energy counter on a background thread while the
workload runs (``rapl``, ``nvml``, ``estimate``), or drives an MLPerf power
director (``ptdaemon``). ``window`` reads LoadGen's ``power_begin``/``power_end``;
``samples`` cuts the series to that window and integrates it; ``record`` writes
``power.json`` and ``power_samples.csv`` next to the run's results.

Only the stdlib is needed, except ``estimate`` (psutil) and ``nvml`` (nvidia-ml-py),
which import their library when they start.
"""

from __future__ import annotations


class PowerError(Exception):
    """A failure the user can act on; main prints it as one line and exits 1."""
