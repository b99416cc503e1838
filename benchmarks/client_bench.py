"""Client performance: FlexBench's ``_openai`` backend vs peer clients, against one loopback mock server.

The server is ``mock_openai_server.py`` (raw asyncio, its own process, streaming SSE, one word per
token, server-side timestamps of every token). Side by side, in one run:

* requests/s and client CPU time per request at concurrency 1/16/64/256, for our backend (driven
  directly through its Python API: ``OpenAIBackend.generate([prompt], on_first, on_done)`` from N
  worker threads, a closed loop as the concurrency mode's SUT workers do; not the LoadGen harness)
  and for the peers ``aiperf`` and ``guidellm`` (PyPI, each installed into its own venv under
  cache/bench/), with the same load (chat, streaming, concurrency N, same output length, same
  word-level tokenizer).
  CPU per request is measured the same way for both: two runs of K and 3K requests, CPU of the
  client's whole process tree (psutil, polled) differenced, divided by 2K; this cancels start-up
  and imports. Requests/s is each client's own figure for its 3K run (ours: requests over the
  wall time of the load loop; aiperf: ``request_throughput`` of its JSON export; guidellm: successful
  requests over its measured window, from its JSON output).
* TTFT and TPOT of our backend at concurrency 1 vs the server's own timestamps of the same requests
  (server: first token written - request read; client: first token reported - request sent), with the
  TCP connections the server accepted, for the backend as it is (the body read to its end after
  [DONE], keep-alive reuse) and with that drain turned off (closed at [DONE], one connection per
  request, the backend before), in interleaved rounds; and, for reference, of a minimal client
  (http.client on one keep-alive connection): the floor that the machine and the server set.

Prints a table with ratios (ours / peer); nothing passes or fails on time. A peer is skipped with
the reason if it cannot be installed (no PyPI) or does not run.

Run: ``python benchmarks/client_bench.py [--tokens 16] [--concurrency 1 16 64 256] [--peers aiperf guidellm]
[--no-peer] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_WORKDIR, ROOT, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
PEERS = {"aiperf": "0.13.0", "guidellm": "0.8.1"}  # name -> the version pinned; each in its own venv


def peer_venv(name: str) -> Path:
    return BENCH_WORKDIR / f"{name}-venv"
CONCURRENCY = (1, 16, 64, 256)


# --- the mock server ---------------------------------------------------------------------------

class Server:
    """The mock server in its own process on an ephemeral port of 127.0.0.1."""

    def __init__(self, delay_ms: float = 0.0) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "mock_openai_server.py"), "--port", "0",
                                      "--delay-ms", str(delay_ms)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"mock server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def call(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- our client, in its own process -------------------------------------------------------------

def ours_client(url: str, concurrency: int, requests: int, tokens: int, tokenizer: str | None,
                drain: bool = True) -> dict[str, Any]:
    """Run in the client process: `requests` requests, `concurrency` in flight; timings per request.
    ``drain=False`` turns off the backend's read to the end of the body after [DONE], so each request
    closes its connection at [DONE] (the backend's behaviour before keep-alive reuse)."""
    import psutil

    from flexbench.backends.openai import OpenAIBackend

    be = OpenAIBackend({"api_base": url, "api_model": "mock", "concurrency": concurrency,
                        "max_output_tokens": tokens, "tokenizer_path": tokenizer, "api_chat": True})
    be.load()
    be.drain = drain
    prompt = be.prompt_for("Say hello to the benchmark.", "")
    lock = threading.Lock()
    next_i = [0]
    rows: list[tuple[float, float, float, int]] = []

    def worker() -> None:
        while True:
            with lock:
                if next_i[0] >= requests:
                    return
                next_i[0] += 1
            clock: dict[str, float] = {}
            n_tok = [0]

            def on_first(row: int, tok: Sequence[int]) -> None:
                clock["first"] = time.perf_counter()

            def on_done(row: int, tok: Sequence[int]) -> None:
                clock["done"] = time.perf_counter()
                n_tok[0] = len(tok)

            sent = time.perf_counter()
            be.generate([prompt], on_first, on_done)
            with lock:
                rows.append((sent, clock["first"], clock["done"], n_tok[0]))

    me = psutil.Process()
    c0, t0 = me.cpu_times(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c1, t1 = me.cpu_times(), time.perf_counter()
    return {"requests": len(rows), "wall_s": t1 - t0, "cpu_s": (c1.user + c1.system) - (c0.user + c0.system),
            "rows": rows}


# --- running a client process and measuring its tree's CPU --------------------------------------

def _tree_cpu_run(argv: list[str], env: dict[str, str], cwd: Path | None = None,
                  timeout: float = 600) -> tuple[float, float, str, int]:
    """Wall s, CPU s (user+system of the process and all its descendants), stdout (+ stderr if it failed),
    return code."""
    import psutil

    seen: dict[int, float] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []
    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else "")),
               threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else ""))]
    for r in readers:
        r.start()
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    ct = p.cpu_times()
                    seen[p.pid] = ct.user + ct.system + (ct.children_user + ct.children_system if p is root else 0)
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        if time.perf_counter() - t0 > timeout:
            proc.kill()
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    for r in readers:
        r.join()
    rc = proc.returncode if proc.returncode is not None else -1
    text = (out[0] if out else "") + ((err[0] if err else "") if rc else "")
    return wall, sum(seen.values()), text, rc


def _pyenv(python: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CMX_HOME")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_ours(python: Path, url: str, concurrency: int, requests: int, tokens: int,
             tokenizer: str | None, drain: bool = True) -> dict[str, Any]:
    argv = [str(python), str(Path(__file__).resolve()), "--_client", url, str(concurrency), str(requests),
            str(tokens), tokenizer or "", "drain" if drain else "close"]
    wall, cpu, out, rc = _tree_cpu_run(argv, _pyenv(python))
    if rc != 0:
        raise RuntimeError(f"our client exited {rc}: {out[-400:]}")
    inner = json.loads(out)
    return {"wall_s": wall, "cpu_s": cpu, "inner": inner}


def _peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CMX_HOME")}
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # the peers' offline modes want a hub cache, not a path
        env.pop(k, None)
    return env


def run_aiperf(url: str, concurrency: int, requests: int, tokens: int, tokenizer: str, art: Path) -> dict[str, Any]:
    exe = peer_venv("aiperf") / "bin" / "aiperf"
    art.mkdir(parents=True, exist_ok=True)
    argv = [str(exe), "profile", "--model", "mock", "--url", url, "--endpoint-type", "chat", "--streaming",
            "--concurrency", str(concurrency), "--request-count", str(requests),
            "--tokenizer", tokenizer, "--synthetic-input-tokens-mean", "8", "--synthetic-input-tokens-stddev", "0",
            "--output-tokens-mean", str(tokens), "--output-tokens-stddev", "0",
            "--artifact-dir", str(art), "--ui-type", "none"]
    wall, cpu, out, rc = _tree_cpu_run(argv, _peer_env(), cwd=art)
    if rc != 0:
        raise RuntimeError(f"aiperf exited {rc}: {out[-400:]}")
    export = json.loads((art / "profile_export_aiperf.json").read_text())
    return {"wall_s": wall, "cpu_s": cpu, "rps": float(export["request_throughput"]["avg"])}


def run_guidellm(url: str, concurrency: int, requests: int, tokens: int, tokenizer: str, art: Path) -> dict[str, Any]:
    exe = peer_venv("guidellm") / "bin" / "guidellm"
    art.mkdir(parents=True, exist_ok=True)
    out_json = art / "benchmarks.json"
    argv = [str(exe), "run", "--backend", f"kind=openai_http,target={url},model=mock,request_format=/v1/chat/completions",
            "--profile", f"kind=concurrent,streams={concurrency}",
            "--constraint", f"kind=max_requests,count={requests}",
            "--data", f"kind=synthetic_text,prompt_tokens=8,output_tokens={tokens}",
            "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
            "--output", f"kind=json,path={out_json}", "--disable-console"]
    wall, cpu, out, rc = _tree_cpu_run(argv, _peer_env(), cwd=art)
    if rc != 0:
        raise RuntimeError(f"guidellm exited {rc}: {out[-400:]}")
    sched = json.loads(out_json.read_text())["benchmarks"][0]["scheduler_metrics"]
    made = sched["requests_made"]
    if made["successful"] != requests or made["errored"]:
        raise RuntimeError(f"guidellm completed {made['successful']} of {requests} requests ({made['errored']} errors)")
    window = sched["measure_end_time"] - sched["measure_start_time"]
    return {"wall_s": wall, "cpu_s": cpu, "rps": made["successful"] / window}


RUNNERS = {"aiperf": run_aiperf, "guidellm": run_guidellm}


# --- the peers' venvs and the shared tokenizer ---------------------------------------------------

def ensure_peer(name: str) -> str | None:
    """Install a peer into its own venv (once); None when ready, else why it is skipped."""
    venv, version = peer_venv(name), PEERS[name]
    py = venv / "bin" / "python"
    if (venv / "bin" / name).exists():
        return None
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"{name}=={version}", "psutil", "requests"], check=True,
                       capture_output=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"{name}=={version} could not be installed into {venv.name}: {type(exc).__name__}"
    return None


_TOKENIZER_CODE = """
import sys
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = ["[UNK]", "</s>", "tok"] + [w for w in (
    "the a and of to in is you that it he was for on are as with his they at be this have from or one "
    "had by word but not what all were we when your can said there use an each which she do how their "
    "if will up other about out many then them these so some her would make like him into time has look "
    "two more write go see number no way could people my than first water been call who oil its now find "
    "say hello benchmark").split()]
t = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]", eos_token="</s>").save_pretrained(sys.argv[1])
"""


def make_tokenizer(python: Path, dest: Path) -> str | None:
    """A small word-level tokenizer (no download), used by both clients; None if it cannot be built."""
    r = subprocess.run([str(python), "-c", _TOKENIZER_CODE, str(dest)], capture_output=True, text=True)
    return str(dest) if r.returncode == 0 else None


# --- measuring ------------------------------------------------------------------------------------

def _q(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]


def _diffs(rows: list[list[float]], recs: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Per request: client TTFT - server TTFT, client TPOT - server TPOT (ms)."""
    d_ttft, d_tpot = [], []
    for (sent, first, done, _), rec in zip(rows, recs):
        stamps = rec["token_ns"]
        s_ttft = (stamps[0] - rec["recv_ns"]) / 1e6
        s_tpot = (stamps[-1] - stamps[0]) / 1e6 / max(1, len(stamps) - 1)
        d_ttft.append((first - sent) * 1000 - s_ttft)
        d_tpot.append((done - first) * 1000 / max(1, len(stamps) - 1) - s_tpot)
    return d_ttft, d_tpot


def _stats(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "p90": _q(xs, 0.9), "max": max(xs)}


# measured side by side: "reuse" reads the body to its end after [DONE] (the backend as it is: the
# keep-alive connection is reused); "close" stops at [DONE] and closes the connection (the backend
# before, a new TCP connection per request); "floor", a minimal client for reference (below)
VARIANTS = ("reuse", "close", "floor")

# The floor: what the machine and the server take, with as little client as possible: http.client on
# one keep-alive connection, the same body, the same SSE parse up to the first content; no requests.
_FLOOR_CODE = r"""
import http.client, json, sys, time
host, port, n, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
conn = http.client.HTTPConnection(host, port)
body = json.dumps({"model": "mock", "max_tokens": tokens, "temperature": 0.0, "stream": True,
                   "messages": [{"role": "user", "content": "Say hello to the benchmark."}]}).encode()
rows = []
for _ in range(n):
    sent = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    first = None
    while True:
        line = r.readline()
        if not line:
            break
        if line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
            piece = (json.loads(line[5:])["choices"][0].get("delta") or {}).get("content")
            if piece and first is None:
                first = time.perf_counter()
    rows.append((sent, first, time.perf_counter(), 0))
print(json.dumps({"rows": rows}))
"""


def run_floor(python: Path, url: str, n: int, tokens: int) -> dict[str, Any]:
    host, port = url.rsplit("/", 1)[-1].split(":")
    r = subprocess.run([str(python), "-c", _FLOOR_CODE, host, port, str(n), str(tokens)], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"the floor client exited {r.returncode}: {r.stderr[-400:]}")
    return {"inner": json.loads(r.stdout)}


def latency_check(python: Path, tokens: int, tokenizer: str | None, n: int = 40,
                  delay_ms: float = 2.0, rounds: int = 3) -> dict[str, Any]:
    """TTFT/TPOT of our backend at concurrency 1 vs the server's timestamps of the same requests, for
    each variant, `rounds` interleaved runs of `n` requests each (the order rotates)."""
    acc: dict[str, dict[str, Any]] = {v: {"ttft": [], "tpot": [], "connections": 0, "requests": 0} for v in VARIANTS}
    with Server(delay_ms=delay_ms) as srv:
        for k in range(rounds):
            for v in VARIANTS[k % len(VARIANTS):] + VARIANTS[:k % len(VARIANTS)]:  # the order rotates
                srv.call("/reset", "POST")
                res = run_floor(python, srv.url, n, tokens) if v == "floor" else \
                    run_ours(python, srv.url, 1, n, tokens, tokenizer, drain=(v == "reuse"))
                st = srv.call("/stats")
                d_ttft, d_tpot = _diffs(res["inner"]["rows"], st["requests"])
                a = acc[v]
                a["ttft"] += d_ttft
                a["tpot"] += d_tpot
                a["requests"] += len(d_ttft)
                a["connections"] += st["connections"] - 1  # not the /stats call's own
    out: dict[str, Any] = {"delay_ms": delay_ms, "tokens": tokens, "rounds": rounds}
    for v, a in acc.items():
        out[v] = {"requests": a["requests"], "connections": a["connections"],
                  "ttft_diff_ms": _stats(a["ttft"]), "tpot_diff_ms": _stats(a["tpot"])}
    # the headline: the backend as it is
    out.update(requests=out["reuse"]["requests"], ttft_diff_ms=out["reuse"]["ttft_diff_ms"],
               tpot_diff_ms=out["reuse"]["tpot_diff_ms"])
    return out


def _requests_for(c: int, base: int) -> int:
    return max(base, 2 * c)


def measure(concurrency: Sequence[int] = CONCURRENCY, tokens: int = 16, base_requests: int = 200,
            peer: bool = True, peers: Sequence[str] = tuple(PEERS)) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    for name in peers:
        why = ensure_peer(name) if peer else "--no-peer"
        if why:
            skipped[name] = why
    ready = [n for n in peers if n not in skipped]
    # all clients run under the same interpreter and tokenizer: the first ready peer's venv
    client_py = peer_venv(ready[0]) / "bin" / "python" if ready else Path(sys.executable)
    tmp = Path(tempfile.mkdtemp(prefix="cmx-clientbench-"))
    tokenizer = make_tokenizer(client_py, tmp / "tokenizer")
    if tokenizer is None:
        for name in ready:
            skipped[name] = "could not build the word-level tokenizer in the peer's venv"
    points: list[dict[str, Any]] = []
    with Server() as srv:
        for c in concurrency:
            k = _requests_for(c, base_requests)
            point: dict[str, Any] = {"concurrency": c, "requests": [k, 3 * k], "peers": {}}
            a, b = (run_ours(client_py, srv.url, c, n, tokens, tokenizer) for n in (k, 3 * k))
            point["ours"] = {"rps": b["inner"]["requests"] / b["inner"]["wall_s"],
                             "cpu_ms_per_req": (b["cpu_s"] - a["cpu_s"]) * 1000 / (2 * k),
                             "inproc_cpu_ms_per_req": b["inner"]["cpu_s"] * 1000 / b["inner"]["requests"]}
            for name in peers:
                if name in skipped:
                    continue
                try:
                    pa, pb = (RUNNERS[name](srv.url, c, n, tokens, str(tokenizer), tmp / f"{name}-{c}-{n}")
                              for n in (k, 3 * k))
                    point["peers"][name] = {"rps": pb["rps"],
                                            "cpu_ms_per_req": (pb["cpu_s"] - pa["cpu_s"]) * 1000 / (2 * k)}
                except RuntimeError as exc:
                    skipped[name] = f"{name} failed: {exc}"
            point["peer"] = point["peers"].get("aiperf")  # the first peer, as in earlier reports
            points.append(point)
            print(f"client_bench: concurrency {c} done", file=sys.stderr, flush=True)
    lat = latency_check(client_py, tokens, tokenizer)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"peers": {n: PEERS[n] for n in peers}, "peer_skipped": "; ".join(f"{n}: {w}" for n, w in skipped.items()) or None,
            "skipped": skipped, "tokens": tokens,
            "tokenizer": "word-level (built locally)" if tokenizer else "none (word count)",
            "driver": "our backend through its Python API (N threads calling generate()), not the LoadGen harness",
            "points": points, "latency": lat}


def report_lines(r: dict[str, Any]) -> list[str]:
    names = list(r["peers"])
    lines = [f"client_bench: mock SSE server (asyncio, own process), {r['tokens']} tokens per answer, "
             f"tokenizer {r['tokenizer']}", f"  driver: {r['driver']}",
             "  peers: " + ", ".join(f"{n} {v}" for n, v in r["peers"].items()),
             "  CPU/request: difference of two runs (K and 3K requests), whole process tree (psutil);",
             "  req/s: each client's own figure for its 3K run (ours: requests / wall of the load loop; "
             "aiperf: request_throughput of its export; guidellm: successful requests / its measured window)"]
    for n, why in (r.get("skipped") or {}).items():
        lines.append(f"  {n} skipped: {why}")
    head = ["concurrency", "ours req/s", "ours CPU ms/req", "(in-proc CPU ms/req)"]
    for n in names:
        head += [f"{n} req/s", f"{n} CPU ms/req", f"CPU ours/{n}"]
    rows = [head]
    for p in r["points"]:
        o = p["ours"]
        row = [str(p["concurrency"]), f"{o['rps']:.0f}", f"{o['cpu_ms_per_req']:.2f}", f"{o['inproc_cpu_ms_per_req']:.2f}"]
        for n in names:
            pe = p.get("peers", {}).get(n)
            row += [f"{pe['rps']:.0f}" if pe else "-", f"{pe['cpu_ms_per_req']:.2f}" if pe else "-",
                    f"{o['cpu_ms_per_req'] / pe['cpu_ms_per_req']:.2f}x" if pe and pe["cpu_ms_per_req"] > 0 else "-"]
        rows.append(row)
    widths = [max(len(x[i]) for x in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(x, widths)).rstrip() for x in rows]
    lat = r["latency"]
    lines.append(f"  latency vs the server's timestamps, concurrency 1, {lat['delay_ms']} ms/token, "
                 f"{lat['rounds']} interleaved rounds per variant (goal: within 1 ms):")
    for v in VARIANTS:
        x = lat[v]
        t, p = x["ttft_diff_ms"], x["tpot_diff_ms"]
        what = {"reuse": "ours: read to the end after [DONE], keep-alive", "close": "ours, closed at [DONE] (before)",
                "floor": "http.client, one connection, for reference"}[v]
        lines.append(f"    {v} ({what}): {x['requests']} requests over {x['connections']} connections; "
                     f"TTFT ours - server median {t['median']:.3f} ms, p90 {t['p90']:.3f} ms, max {t['max']:.3f} ms; "
                     f"TPOT median {p['median']:.3f} ms, p90 {p['p90']:.3f} ms")
    a, b = lat["reuse"]["ttft_diff_ms"]["median"], lat["close"]["ttft_diff_ms"]["median"]
    if b > 0:
        lines.append(f"    TTFT gap median reuse/close: {a / b:.2f}x; reuse - floor: "
                     f"{a - lat['floor']['ttft_diff_ms']['median']:.3f} ms (what our client adds to the floor)")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_client":  # the client process of one run (internal)
        url, c, n, tokens, tok, mode = argv[1:7]
        print(json.dumps(ours_client(url, int(c), int(n), int(tokens), tok or None, drain=(mode == "drain"))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    ap.add_argument("--tokens", type=int, default=16, help="tokens per streamed answer")
    ap.add_argument("--requests", type=int, default=200, help="K: the smaller run's requests (at least 2x concurrency)")
    ap.add_argument("--no-peer", action="store_true", help="measure only our backend (no peer venvs)")
    ap.add_argument("--peers", nargs="+", choices=list(PEERS), default=list(PEERS), help="the peers to measure")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)
    r = measure(a.concurrency, a.tokens, a.requests, peer=not a.no_peer, peers=a.peers)
    m = machine()
    m["loadavg_1m_before_after"] = [load_before, m["loadavg_1m"]]
    out = sys.stderr if a.json else sys.stdout
    print(f"[{m['cpus']} cpus, cmx {m['cmx_commit']}, load avg (1 min) {load_before} before, "
          f"{m['loadavg_1m']} after]", file=out)
    print("\n".join(report_lines(r)), file=out)
    if a.json:
        print(json.dumps({"machine": m, "result": r}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
