"""cmx's watchdog: stops the process groups of cmx's scripts when cmx dies, even by SIGKILL.

Run by ``cmx.execute.procs`` as ``python -I -S watchdog.py GRACE`` with a pipe on stdin.
cmx writes ``+PGID`` when a script's group starts and ``-PGID`` when it is gone. At end
of file (cmx has exited, however it exited), every group still registered gets SIGTERM,
then SIGKILL after GRACE seconds. Standard library only; ignores the terminal's signals.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except OSError:
        return False
    return True


def stop(groups: set[int], grace: float) -> None:
    alive = [g for g in sorted(groups) if _signal_group(g, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [g for g in alive if _signal_group(g, 0)]
    for g in alive:
        _signal_group(g, signal.SIGKILL)


def main(argv: list[str]) -> int:
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    grace = float(argv[1]) if len(argv) > 1 else 2.0
    groups: set[int] = set()
    for raw in sys.stdin.buffer:
        line = raw.strip()
        if line[:1] in (b"+", b"-") and line[1:].isdigit():
            pgid = int(line[1:])
            if pgid > 1:
                (groups.add if line[:1] == b"+" else groups.discard)(pgid)
    if groups:
        stop(groups, grace)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
