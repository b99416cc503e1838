"""The ``--executor`` and ``--slurm.*`` flags, as one frozen value and as submitit parameters."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from cmx.errors import UsageError
from cmx.flagspec import Flag

FLAGS = (
    Flag("executor", "text", "where the plan runs: local (default) or slurm (docs/slurm.md)", example="--executor=slurm"),
    Flag("slurm", "map", "Slurm job options: partition, time, gres, cpus_per_task, mem, exclusive, account, "
         "requeue, and extra (other sbatch options, e.g. --slurm.extra='--qos=high --constraint=a100')",
         example="--slurm.partition=gpu --slurm.gres=gpu:1 --slurm.time=2h"),
    Flag("detach", "bool", "with --executor=slurm: submit, print the job ids and how to collect, return at once"),
)
EXECUTORS = ("local", "slurm")
_KNOWN = ("partition", "time", "gres", "cpus_per_task", "mem", "exclusive", "account", "requeue", "extra")
_TIME = re.compile(r"^(\d+)([smhd]?)$")
_MEM = re.compile(r"^\d+[KMGT]?$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9_.:,=+-]+$")  # partition, account, gres: no spaces or shell characters


def executor_of(i: dict[str, Any]) -> str:
    """``local`` or ``slurm``; a usage error for anything else or for --slurm.* without --executor=slurm."""
    value = i.get("executor") or "local"
    if value not in EXECUTORS:
        raise UsageError(f"--executor={value}: expected one of {', '.join(EXECUTORS)}")
    if value == "local" and (i.get("slurm") or i.get("detach")):
        flag = "--slurm.*" if i.get("slurm") else "--detach"
        raise UsageError(f"{flag} needs --executor=slurm")
    return str(value)


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None
    time_min: int | None = None
    gres: str | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    exclusive: bool = False
    account: str | None = None
    requeue: bool = False
    extra: tuple[tuple[str, str], ...] = ()  # other sbatch options, as (name, value)

    @classmethod
    def from_input(cls, i: dict[str, Any]) -> "SlurmOptions":
        raw = i.get("slurm") or {}
        if not isinstance(raw, dict):
            raise UsageError("--slurm needs a key: --slurm.partition=NAME (see cmx run script -h)")
        unknown = sorted(set(raw) - set(_KNOWN))
        if unknown:
            raise UsageError(f"--slurm.{unknown[0]}: unknown Slurm option (known: {', '.join(_KNOWN)})",
                             hint=f"other sbatch options go through --slurm.extra='--{unknown[0]}=...'")
        return cls(
            partition=_name(raw, "partition"), time_min=_minutes(raw.get("time")), gres=_name(raw, "gres"),
            cpus_per_task=_count(raw, "cpus_per_task"), mem=_mem(raw.get("mem")),
            exclusive=_switch(raw, "exclusive"), account=_name(raw, "account"), requeue=_switch(raw, "requeue"),
            extra=_extra(raw.get("extra")),
        )

    def submitit_parameters(self, name: str) -> dict[str, Any]:
        """Parameters of ``submitit.AutoExecutor.update_parameters`` (slurm_* keys)."""
        p: dict[str, Any] = {"name": name}
        if self.time_min is not None:
            p["timeout_min"] = self.time_min
        if self.partition:
            p["slurm_partition"] = self.partition
        if self.gres:
            p["slurm_gres"] = self.gres
        if self.cpus_per_task:
            p["cpus_per_task"] = self.cpus_per_task
        if self.mem:
            p["slurm_mem"] = self.mem
        if self.account:
            p["slurm_account"] = self.account
        extra: dict[str, Any] = dict(self.extra)
        if self.exclusive:
            extra["exclusive"] = True
        if self.requeue:
            extra["requeue"] = True
        elif "requeue" not in extra:  # Slurm's default re-queues; without the flag a preempted job is reported
            extra["no_requeue"] = True
        if extra:
            p["slurm_additional_parameters"] = extra
        return p


def _name(raw: dict[str, Any], key: str) -> str | None:
    v = raw.get(key)
    if v is None:
        return None
    if v is True or not _NAME.match(str(v)):
        raise UsageError(f"--slurm.{key}={'' if v is True else v}: expected a name such as "
                         f"{'gpu:1' if key == 'gres' else 'debug'}")
    return str(v)


def _count(raw: dict[str, Any], key: str) -> int | None:
    v = raw.get(key)
    if v is None:
        return None
    try:
        n = int(str(v))
        if n < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"--slurm.{key}={v}: expected a whole number >= 1") from None
    return n


def _switch(raw: dict[str, Any], key: str) -> bool:
    v = raw.get(key)
    if v is None or v is True or v is False:
        return bool(v)
    if str(v).lower() in ("yes", "true", "1", "on"):
        return True
    if str(v).lower() in ("no", "false", "0", "off"):
        return False
    raise UsageError(f"--slurm.{key}={v}: a switch (give --slurm.{key}, or yes/no)")


def _minutes(v: Any) -> int | None:
    """``--slurm.time``: 90 (minutes), 90m, 2h, 1d, 30s (rounded up to a minute), or Slurm's MM:SS, H:MM:SS."""
    if v is None:
        return None
    text = str(v).strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
            nums = [int(p) for p in parts]
            h, m, s = ([0] + nums if len(nums) == 2 else nums)  # Slurm's MM:SS and HH:MM:SS
            return max(1, h * 60 + m + (1 if s else 0))
    m_ = _TIME.match(text)
    if v is True or not m_:
        raise UsageError(f"--slurm.time={'' if v is True else v}: expected minutes, or 30m, 2h, 1d, 1:30:00")
    n, unit = int(m_.group(1)), m_.group(2) or "m"
    minutes = {"s": -(-n // 60), "m": n, "h": n * 60, "d": n * 1440}[unit]
    if minutes < 1:
        raise UsageError(f"--slurm.time={v}: at least one minute")
    return minutes


def _mem(v: Any) -> str | None:
    if v is None:
        return None
    if v is True or not _MEM.match(str(v)):
        raise UsageError(f"--slurm.mem={'' if v is True else v}: expected a size such as 16G or 4000M")
    return str(v).upper()


def _extra(v: Any) -> tuple[tuple[str, str], ...]:
    """``--slurm.extra='--qos=high --constraint=a100'``: sbatch options, passed as options (never a shell)."""
    if v is None:
        return ()
    if v is True:
        raise UsageError("--slurm.extra needs sbatch options, e.g. --slurm.extra='--qos=high'")
    out = []
    try:
        words = shlex.split(str(v))
    except ValueError as exc:
        raise UsageError(f"--slurm.extra={v}: {exc}") from None
    for word in words:
        if not word.startswith("--") or len(word) < 3:
            raise UsageError(f"--slurm.extra: '{word}' is not an sbatch long option (--name=value)")
        name, _, value = word[2:].partition("=")
        if not _NAME.match(name) or "\n" in value:
            raise UsageError(f"--slurm.extra: '{word}' is not an sbatch long option (--name=value)")
        out.append((name.replace("-", "_"), value or True))
    return tuple(out)  # type: ignore[return-value]
