"""get-system-description: the MLPerf inference system description (systems/<system>.json) of this machine."""

import json
import os
import sys

from cmx.execute.customize import load_source

HERE = os.path.dirname(os.path.abspath(__file__))

# input flag -> description field; these are facts about a submission that no probe can know
GIVEN = {"CMX_SYSDESC_DIVISION": "division", "CMX_SYSDESC_SUBMITTER": "submitter", "CMX_SYSDESC_STATUS": "status",
         "CMX_SYSDESC_SYSTEM_TYPE": "system_type", "CMX_SYSDESC_SYSTEM_NAME": "system_name",
         "CMX_SYSDESC_COOLING": "cooling", "CMX_SYSDESC_HW_NOTES": "hw_notes", "CMX_SYSDESC_SW_NOTES": "sw_notes"}


def _helper(name):
    """A helper module next to this file, compiled from source (no __pycache__ in the recipe)."""
    return load_source(os.path.join(HERE, f"{name}.py"))


def preprocess(i):
    env, sd = i["env"], _helper("sysdesc")
    python = env.get("CMX_PYTHON_BIN_WITH_PATH") or os.environ.get("CMX_PYTHON") or sys.executable
    extra = {"storage": sd.storage(), "network": sd.networking(), "system_name": sd.system_name(),
             "software": sd.software(python, HERE)}
    desc = sd.build(env, i["state"].get("gpus") or [], extra)

    fields_file = env.get("CMX_SYSDESC_FIELDS_FILE")
    if fields_file:
        try:
            with open(fields_file, encoding="utf-8") as fh:
                given = json.load(fh)
        except (OSError, ValueError) as exc:
            return {"return": 1, "error": f"cannot read --fields file {fields_file}: {exc}"}
        if not isinstance(given, dict):
            return {"return": 1, "error": f"--fields file {fields_file} must hold a JSON object of field: value"}
        desc.update(given)
    desc.update({field: env[key] for key, field in GIVEN.items() if env.get(key)})

    path = os.path.join(i["run_path"], "system_description.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(desc, fh, indent=2, sort_keys=True)
        fh.write("\n")
    i["state"]["system_description"] = desc
    env["CMX_SYSTEM_DESCRIPTION_FILE"] = path
    env["CMX_SYSTEM_DESCRIPTION_NA_FIELDS"] = ",".join(sd.na_fields(desc))
    return {"return": 0}


def postprocess(i):
    sd = _helper("sysdesc")
    problems = sd.validate(i["state"]["system_description"])
    if problems:
        return {"return": 1, "error": "the system description would fail the MLPerf submission checker: "
                                      + "; ".join(problems)}
    i["env"]["CMX_SYSTEM_DESCRIPTION_FIELDS"] = str(len(sd.REQUIRED_FIELDS))
    return {"return": 0}
