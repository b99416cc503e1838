"""LoadGen's power window: ``power_begin``/``power_end`` in ``mlperf_log_detail.txt``.

LoadGen logs both as ``"MM-DD-YYYY HH:MM:SS.mmm"`` in the SUT's local time (milliseconds,
no zone), e.g. ``"11-23-2026 16:05:44.602"``. MLPerf's checker compares them with the
analyser's samples in the same format, so both are read here as local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flexbench.loadgen_log import LogError, parse_detail, summarize
from flexbench.power import PowerError
from flexbench.power.samples import Window

DETAIL = "mlperf_log_detail.txt"
TIME_FORMAT = "%m-%d-%Y %H:%M:%S.%f"


_TIME = re.compile(r"(\d\d)-(\d\d)-(\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{1,6})")


def parse_time(text: str) -> float:
    """A LoadGen/PTDaemon local timestamp as Unix seconds. The usual shape is read field by
    field (an analyser's spl.txt has one per sample, and strptime is slow); anything else goes
    through strptime, which raises ValueError for what is not that format."""
    s = text.strip()
    m = _TIME.fullmatch(s)
    if m:
        mo, d, y, h, mi, sec, frac = m.groups()
        try:
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec), int(frac.ljust(6, "0"))).timestamp()
        except ValueError:
            pass
    return datetime.strptime(s, TIME_FORMAT).timestamp()


@dataclass(frozen=True)
class RunFigures:
    """What a LoadGen log says about the run, for the per-sample and per-token figures."""

    window: Window
    begin_text: str
    end_text: str
    scenario: str | None
    samples_per_second: float | None
    tokens_per_second: float | None
    query_count: int | None
    samples_per_query: int | None


def find_detail(path: Path) -> Path:
    """``path`` may be the detail log, the folder holding it, or a FlexBench result folder."""
    for cand in (path, path / DETAIL, path / "performance" / DETAIL):
        if cand.is_file():
            return cand
    raise PowerError(f"no {DETAIL} in {path} (nor in {path / 'performance'})")


def read_run(path: Path) -> RunFigures:
    detail = find_detail(path)
    try:
        log = parse_detail(detail)
    except (LogError, OSError) as exc:
        raise PowerError(str(exc)) from None
    begin, end = log.get("power_begin"), log.get("power_end")
    missing = [k for k, v in (("power_begin", begin), ("power_end", end)) if not v]
    if missing:
        raise PowerError(f"{detail}: LoadGen's {' and '.join(missing)} marker(s) are missing, so the power window "
                         f"is unknown (was this a performance run?)")
    try:
        window = Window(parse_time(str(begin)), parse_time(str(end)))
    except ValueError:
        raise PowerError(f"{detail}: power_begin/power_end are not MM-DD-YYYY HH:MM:SS.mmm: {begin!r}, {end!r}") from None
    spq = log.get("generated_samples_per_query") or log.get("effective_samples_per_query")
    s = summarize(log)  # the throughput figures as FlexBench's result.json reads them

    def num(v: object) -> float | None:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    qc = s["query_count"]
    return RunFigures(
        window=window, begin_text=str(begin), end_text=str(end), scenario=s["scenario"],
        samples_per_second=num(s["samples_per_second"]), tokens_per_second=num(s["tokens_per_second"]),
        query_count=int(qc) if num(qc) is not None else None,
        samples_per_query=int(spq) if num(spq) is not None else None,
    )
