"""get-mlperf-loadgen: report the LoadGen version the venv really has."""

import subprocess


def postprocess(i):
    env = i["env"]
    py = env.get("CMX_VENV_PYTHON")
    out = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('mlcommons-loadgen'))"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        return {"return": 1, "error": f"mlcommons-loadgen is not importable with {py}: {out.stderr.strip()[-200:]}"}
    env["CMX_LOADGEN_VERSION"] = out.stdout.strip()
    return {"return": 0, "version": env["CMX_LOADGEN_VERSION"]}
