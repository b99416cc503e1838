"""``systems/<system>.json``: the system description of a submission.

It starts from what ``get,system-description`` detected (the copy recorded in the
run's ``result.json`` when there is one, because that is the machine that ran the
benchmark), then the user's YAML overrides file, then the packager's inputs
(division, submitter, status, system_type, system_name). A field nobody knows
stays ``"N/A"``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Mapping

import yaml

from flexbench.mlperf.errors import SubmissionError
from flexbench.mlperf.render import render, render_json
from flexbench.mlperf.rules import (SYSTEM_DESC_MEANINGFUL_FIELDS, SYSTEM_DESC_NETWORK_FIELDS,
                                    SYSTEM_DESC_POWER_FIELDS, SYSTEM_DESC_REQUIRED_FIELDS,
                                    canonical_system_type, check_division, check_status)

NA = "N/A"
DEFAULT_STATUS = "available"
DEFAULT_SYSTEM_TYPE = "datacenter"
# "system_power_capacity" replaces the nameplate YAML of a power submission (system_check.py).
EXTRA_FIELDS: tuple[str, ...] = SYSTEM_DESC_POWER_FIELDS + SYSTEM_DESC_NETWORK_FIELDS + ("system_power_capacity",)
KNOWN_FIELDS: tuple[str, ...] = SYSTEM_DESC_REQUIRED_FIELDS + EXTRA_FIELDS
# Fields that must equal the folders they sit in: a file may repeat them, never contradict them.
_FOLDER_FIELDS = ("division", "submitter")


def _scalar(path: Path, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SubmissionError(f"{path}: {key} must be a string or a number, got {type(value).__name__}"
                          + (" (an empty value: write N/A for unknown)" if value is None else ""))


def load_overrides(path: Path, known: tuple[str, ...] = KNOWN_FIELDS) -> dict[str, str]:
    """A YAML mapping of field: value. Unknown keys are an error naming the nearest field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SubmissionError(f"cannot read overrides file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SubmissionError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SubmissionError(f"{path}: expected a mapping of field: value, got {type(data).__name__}")
    out: dict[str, str] = {}
    for key, value in data.items():
        key = str(key)
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            raise SubmissionError(f"{path}: unknown field {key!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                                  + "; see docs/system-description.md for the fields")
        out[key] = _scalar(path, key, value)
    return out


def build(detected: Mapping[str, Any], overrides: Mapping[str, str], *, division: str, submitter: str,
          status: str | None, system_type: str | None, system_name: str | None,
          overrides_file: Path | None = None) -> dict[str, str]:
    """The merged description; raises on values the checker would reject."""
    desc = {k: NA for k in SYSTEM_DESC_REQUIRED_FIELDS}
    desc.update({k: _scalar(Path("system description"), k, v) for k, v in detected.items()
                 if k in KNOWN_FIELDS and v is not None})
    for key in _FOLDER_FIELDS:
        given = {"division": division, "submitter": submitter}[key]
        if key in overrides and overrides[key].lower() != given.lower():
            raise SubmissionError(f"{overrides_file}: {key} is {overrides[key]!r} but the submission's {key} is "
                                  f"{given!r}; the checker requires them to match (set it with --{key})")
    desc.update(overrides)
    desc["division"], desc["submitter"] = division, submitter
    for key, flag in (("status", status), ("system_type", system_type), ("system_name", system_name)):
        if flag:
            desc[key] = flag
    # status and system_type are choices of the submission: documented defaults when nobody gave them
    desc["status"] = check_status(DEFAULT_STATUS if desc["status"] == NA else desc["status"])
    desc["system_type"] = canonical_system_type(DEFAULT_SYSTEM_TYPE if desc["system_type"] == NA
                                                else desc["system_type"])
    check_division(desc["division"])
    empty = [k for k in SYSTEM_DESC_MEANINGFUL_FIELDS if not str(desc.get(k, "")).strip()]
    if empty:
        raise SubmissionError(f"system description: {', '.join(empty)} must not be empty "
                              f"(the checker needs a meaningful value; write N/A when unknown)")
    return desc


def render_system(desc: Mapping[str, str]) -> str:
    extra = sorted(k for k in desc if k not in SYSTEM_DESC_REQUIRED_FIELDS)
    ctx = {"required": list(SYSTEM_DESC_REQUIRED_FIELDS), "extra": extra, "desc": dict(desc)}
    if render_json("system.json.j2", **ctx) != dict(desc):  # the template must carry every field verbatim
        raise RuntimeError("system.json.j2 dropped or changed a field")
    return render("system.json.j2", **ctx)


def na_fields(desc: Mapping[str, str]) -> list[str]:
    return [k for k in SYSTEM_DESC_REQUIRED_FIELDS if desc.get(k) == NA]
