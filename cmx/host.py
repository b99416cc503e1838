"""The identity of the machine a probe runs on: part of every probe's cache key.

A probe (``probe: true``: ``detect,os``, ``detect,gpu``, ...) reports facts about the machine it
runs on, so its entry is keyed by that machine: in a store shared by several machines (a cluster's
login and compute nodes, docs/slurm.md) each machine runs its own probes, and an entry built on
a probe is reused on another machine only when that machine's probe gives the same output.

The identity is the host name (``os.uname().nodename``). ``CMX_HOST_ID`` replaces it: for
machines whose host name is not stable (containers) and for tests that need a second machine.
It is used only for keying, never to reach the machine. Standard library only: the fast path
imports it.
"""

from __future__ import annotations

import os

HOST_ENV = "CMX_HOST_ID"


def host_id() -> str:
    given = os.environ.get(HOST_ENV, "").strip()
    return given or os.uname().nodename
