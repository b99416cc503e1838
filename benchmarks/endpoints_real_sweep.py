"""A real MLPerf Endpoints sweep: `transformers serve` with the embedded SmolLM2-135M on 127.0.0.1,
a 7-point FlexBench concurrency sweep (1..64, `--pareto`), the Endpoints tree, the official checker.

Not part of `make bench` (it takes minutes and is recorded once in docs/endpoints.md, "A real sweep").
Run: ``python benchmarks/endpoints_real_sweep.py OUT_DIR`` with ``CMX_HOME`` set (a home where the
`flexbench` venv is built saves the build) and matplotlib importable (``--pareto`` draws pareto.png).
The server is started here and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def cmx(*args: str) -> dict:
    print("$ cmx " + " ".join(args), flush=True)
    proc = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], capture_output=True, text=True)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        sys.exit(f"cmx {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(proc.stderr[-1500:], flush=True)
    return json.loads(proc.stdout)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    venv = cmx("run", "script", "--tags=install,python-package,_package.transformers[serving]", "--version=5.23.0",
               "--adr.venv.tags=_name.flexbench", "-j")
    model = cmx("run", "script", "--tags=get,ml-model,smollm2", "-j")["new_env"]["CMX_ML_MODEL_PATH"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(out / "serve.log", "w")
    server = subprocess.Popen([str(Path(venv["new_env"]["CMX_VENV_PYTHON"]).parent / "transformers"), "serve", model,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    print(f"transformers serve: PID {server.pid}, port {port}", flush=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("transformers serve did not start:\n" + (out / "serve.log").read_text()[-2000:])
                time.sleep(1)
        t0 = time.monotonic()
        sweep = cmx("run", "experiment", "--tags=run,flexbench,_openai,_all", f"--api_base=http://127.0.0.1:{port}",
                    f"--api_model={model}", "--samples=8", "--performance_sample_count=32",
                    "--min_query_count=32", "--max_output_tokens=8", "--endpoints_seed_set=A",
                    "--explore.concurrency=1,2,4,...,64", "--pareto", f"--experiment_dir={out / 'sweep'}", "-j")
        print(f"sweep: {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    (out / "sweep.json").write_text(json.dumps(sweep, indent=1))
    cmx("run", "script", "--tags=generate,mlperf,endpoints,submission", f"--experiment={out / 'sweep'}",
        "--model_name=kimi-k3", f"--out_dir={out / 'tree'}", "-j")
    check = cmx("run", "script", "--tags=check,mlperf,endpoints,submission", f"--input={out / 'tree' / 'FlexBench'}",
                "--fail_on_reject=no", "-j")
    (out / "check.json").write_text(json.dumps(check, indent=1))
    print(json.dumps(check["new_state"]["endpoints_check"], indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
