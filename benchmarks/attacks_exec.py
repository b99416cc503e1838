"""Attack trials for issue 10 (#3 kill/interrupt, #7 secrets, low: newlines, huge values, bad settings).

Not a timing benchmark and not part of ``make bench``: it repeats each attack on a real ``cmx``
(a subprocess, in a temporary CMX_HOME) and prints the table of docs/reliability.md:
attack, tries, lost, visible half-written, reused wrongly, executed, leaked, orphans.

- kill trials: a recipe whose run.sh starts two children (one ignores SIGTERM/SIGINT) and waits;
  the signal is sent to cmx at a random moment (start-up included), while a monitor thread scans
  the store every 20 ms for an entry whose files are incomplete. Then: survivors of the script's
  process group (orphans), a re-run that must complete (lost) and give the full payload (reused
  wrongly otherwise).
- secret trials: each shape, run twice (the memo), explained, failed (the failure folder and the
  re-run hint), with --lock; every file of the home and every printed line is searched (leaked).
- bad inputs and settings: the recipe must not run (executed), the exit code must be the one documented.

Run: ``python benchmarks/attacks_exec.py [--trials 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("attack", "tries", "lost", "visible half-written", "reused wrongly", "executed", "leaked", "orphans")
PAYLOAD = "x" * 4096

SLOW_META = "alias: slow\ntags: [atk, slow]\ncache: true\nnew_env_keys: [ATK_*]\n"
SLOW_RUN = f"""
echo part > part1.txt
sleep 300 &
echo $! >> "$ATK_PIDS.tmp"
(trap '' TERM INT HUP; exec sleep 301) &
echo $! >> "$ATK_PIDS.tmp"
echo $$ >> "$ATK_PIDS.tmp"
mv "$ATK_PIDS.tmp" "$ATK_PIDS"
[ -e "$ATK_MARK" ] && wait
printf %s "{PAYLOAD}" > payload.txt
echo "ATK_PAYLOAD=$PWD/payload.txt" >> tmp-run-env.out
"""


def cmx(home: Path, *args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CMX_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], env=full, capture_output=True, text=True,
                          cwd=home, timeout=300, **kw)


def make_home(base: Path, name: str) -> tuple[Path, Path]:
    home, repo = base / name / "home", base / name / "repo"
    (repo / "scripts").mkdir(parents=True)
    home.mkdir(parents=True)
    (home / "repos.yaml").write_text(f"repos:\n  - path: {repo}\n    alias: atk\n")
    return home, repo


def add(repo: Path, alias: str, meta: str, run: str) -> None:
    d = repo / "scripts" / alias
    d.mkdir(parents=True, exist_ok=True)
    (d / "meta.yaml").write_text(meta)
    (d / "run.sh").write_text(run)


def half_written(home: Path) -> int:
    """Visible entries that are not complete: an unreadable entry file, or a missing/short payload."""
    bad = 0
    store = home / "cache" / "store"
    if not store.is_dir():
        return 0
    for shard in list(store.iterdir()):
        for entry in list(shard.iterdir()):
            try:
                record = json.loads((entry / "cmx-entry.json").read_text())
                if record.get("alias") == "slow" and (entry / "payload.txt").read_text() != PAYLOAD:
                    bad += 1
            except (OSError, ValueError):
                if entry.exists():
                    bad += 1
    return bad


def survivors(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    for proc in psutil.process_iter():  # anything else left in the script's group
        try:
            if pids and os.getpgid(proc.pid) == pids[-1] and proc.pid not in out and \
                    proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc.pid)
        except (psutil.Error, ProcessLookupError):
            pass
    return out


def kill_trials(base: Path, signum: int, trials: int, rng: random.Random) -> dict[str, Any]:
    home, repo = make_home(base, f"kill-{signum}")
    add(repo, "slow", SLOW_META, SLOW_RUN)
    add(repo, "wrap", "alias: wrap\ntags: [atk, wrap]\ndeps: [{tags: 'atk,slow'}]\n", "true\n")
    row = dict.fromkeys(COLUMNS[1:], 0)
    seen_bad = [0]
    stop = threading.Event()

    def monitor() -> None:
        while not stop.is_set():
            seen_bad[0] = max(seen_bad[0], half_written(home))
            time.sleep(0.02)

    threading.Thread(target=monitor, daemon=True).start()
    codes: list[Any] = []
    for k in range(trials):
        pids_file, mark = base / f"pids-{signum}-{k}", base / f"mark-{signum}-{k}"
        mark.touch()
        args = ["run", "script", "--tags=atk,wrap", f"--env.ATK_PIDS={pids_file}", f"--env.ATK_MARK={mark}",
                f"--jobs={1 + k % 2}", "--new"]
        env = dict(os.environ, CMX_HOME=str(home))
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "cmx.cli.main", *args], env=env, cwd=home,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # a random moment: during start-up (1 in 4) or while the script runs
        if k % 4 == 0:
            time.sleep(rng.uniform(0.0, 0.4))
        else:
            while not pids_file.exists() and proc.poll() is None and time.monotonic() - t0 < 60:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        pids = [int(x) for x in pids_file.read_text().split()] if pids_file.exists() else []
        # -N: the signal came before cmx's entry point was loaded (Python's default action; nothing runs yet)
        codes.append(proc.returncode if pids or proc.returncode != -signum else f"{proc.returncode} (start-up)")
        deadline = time.monotonic() + 15
        while survivors(pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = survivors(pids)
        row["orphans"] += len(left)
        for pid in left:  # clean up, so one failure does not spoil the next trial
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if signum != signal.SIGKILL and ("Traceback" in err or "internal error" in err):
            row.setdefault("notes", []).append(err.strip().splitlines()[-1])
        mark.unlink()
        again = cmx(home, "run", "script", "--tags=atk,slow", f"--env.ATK_PIDS={pids_file}",
                    f"--env.ATK_MARK={mark}", "-j")
        if again.returncode != 0:
            row["lost"] += 1
        else:
            path = json.loads(again.stdout)["new_env"].get("ATK_PAYLOAD", "")
            if not path or Path(path).read_text() != PAYLOAD:
                row["reused wrongly"] += 1
        row["tries"] += 1
    stop.set()
    row["visible half-written"] = seen_bad[0] + half_written(home)
    row["attack"] = f"{signal.Signals(signum).name} to cmx mid-build (--jobs 1/2, start-up too)"
    row["codes"] = codes
    return row


SECRET_META = ("alias: sroot\ntags: [sroot]\ncache: true\ndeps: [{tags: sdep, names: [X]}]\n"
               "input_mapping: {url: S_URL, hf_token: HF_TOKEN, args: S_ARGS}\nnew_env_keys: [S_*]\n")
SECRET_RUN = ('echo "S_URL_OUT=$S_URL" >> tmp-run-env.out\necho "S_A_OUT=$S_A" >> tmp-run-env.out\n'
              'echo "S_ARGS_OUT=$S_ARGS" >> tmp-run-env.out\n'
              'echo "fetching $S_URL with $S_A $S_ARGS token ${HF_TOKEN}"\n[ -z "$S_FAIL" ] || exit 3\n')


def secret_trials(base: Path) -> list[dict[str, Any]]:
    shapes = {
        "--adr.X.env.HF_TOKEN=… (a dependency's secret env)": ["--adr.X.env.HF_TOKEN={s}"],
        "--env.X=HF_TOKEN=… (NAME=value inside a value)": ["--env.S_A=HF_TOKEN={s}"],
        "URL with ?token=… (query credential)": ["--url=https://files.example/m.bin?token={s}&rev=2"],
        "URL with user:pass@ (and --lock)": ["--url=https://user:{s}@files.example/m.bin", "--lock", "LOCK"],
        "'{\"api_key\": …}' inside an input": ['--args={{"api_key": "{s}"}}'],
        "--hf_token=… and HF_TOKEN inherited": ["--hf_token={s}"],
    }
    rows = []
    for n, (name, flags) in enumerate(shapes.items()):
        home, repo = make_home(base, f"secret-{n}")
        add(repo, "sdep", "alias: sdep\ntags: [sdep]\ncache: true\nnew_env_keys: [SDEP_*]\n",
            'echo "SDEP_LEN=${#HF_TOKEN}" >> tmp-run-env.out\necho "dep sees $HF_TOKEN"\n')
        add(repo, "sroot", SECRET_META, SECRET_RUN)
        secret = f"sekrit-{n}-{os.urandom(4).hex()}"
        args = [f.format(s=secret).replace("LOCK", str(home / "l.json")) for f in flags]
        extra = {"HF_TOKEN": secret} if "inherited" in name else {}
        printed, tries, wrong = [], 0, 0
        for command, code in ((["run"], 0), (["run"], 0), (["explain"], 0), (["run", "--env.S_FAIL=1"], 1),
                              (["run", "--new", "-j"], 0)):
            res = cmx(home, command[0], "script", "--tags=sroot", *args, *command[1:], env=extra)
            printed += [res.stdout, res.stderr]
            tries += 1
            wrong += res.returncode != code
        leaked = 0
        for root, _, files in os.walk(home):
            for f in files:
                if secret in Path(root, f).read_text(errors="replace"):
                    leaked += 1
        leaked += sum(1 for text in printed if secret in text)
        rows.append({"attack": f"secret: {name}", "tries": tries, "lost": 0, "visible half-written": 0,
                     "reused wrongly": 0, "executed": 0, "leaked": leaked, "orphans": 0, "wrong exit": wrong})
    return rows


def bad_input_trials(base: Path) -> list[dict[str, Any]]:
    home, repo = make_home(base, "bad")
    add(repo, "echo", "alias: echo\ntags: [echo]\ninput_mapping: {text: ECHO_TEXT}\nnew_env_keys: [GOT, Y]\n",
        'touch "$MARK"\necho "GOT=$V" >> tmp-run-env.out\n')
    mark = base / "bad-ran"
    rows = []

    def row(name: str, cases: list[tuple[list[str], dict[str, str], int]], cwd_home: Path | None = None) -> None:
        executed = wrong = 0
        for args, env, code in cases:
            mark.unlink(missing_ok=True)
            res = cmx(cwd_home or home, *args, env=env)
            executed += mark.exists() or '"Y"' in res.stdout
            wrong += res.returncode != code or "Traceback" in res.stderr or "internal error" in res.stderr
        rows.append({"attack": name, "tries": len(cases), "lost": 0, "visible half-written": 0, "reused wrongly": 0,
                     "executed": executed, "leaked": 0, "orphans": 0, "wrong exit": wrong})

    run = ["run", "script", "--tags=echo", f"--env.MARK={mark}", "-j"]
    row("newline in a value (--env, --const, input, --adr…env)",
        [(run + [f.format("a\nY=evil")], {}, 2) for f in ("--env.V={}", "--const.V={}", "--text={}", "--adr.x.env.V={}")])
    big = base / "big.json"
    big.write_text(json.dumps({"env": {"V": "a" * 1_000_000}}))
    many = base / "many.json"
    many.write_text(json.dumps({"env": {f"V{k}": "b" * 60_000 for k in range(6)}}))
    row("1 MB value / 360 KB of values (@file)", [(run + [f"@{big}"], {}, 2), (run + [f"@{many}"], {}, 2)])
    afile = base / "afile"
    afile.write_text("x")
    unwritable = Path("/proc/cmx-attack-home") if os.geteuid() == 0 else base / "ro"
    if os.geteuid() != 0:
        unwritable.mkdir()
        unwritable.chmod(0o555)
    cases = []
    for h in (afile, afile / "sub", unwritable):
        cases.append((["run", "script", "--tags=detect,os"], {"CMX_HOME": str(h)}, 2))
    row("CMX_HOME a file, inside a file, unwritable", cases, cwd_home=base)
    row("CMX_LOCK_TIMEOUT=abc", [(run + ["--new"], {"CMX_LOCK_TIMEOUT": "abc"}, 2)])
    return rows


def pipe_trials(base: Path) -> dict[str, Any]:
    home, _ = make_home(base, "pipe")
    wrong = tries = 0
    for args in (["find", "script"], ["show", "cache"], ["run", "script", "--tags=print,hello-world", "-j"],
                 ["find", "script"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        proc = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ, CMX_HOME=str(home)), cwd=home, timeout=300)
        os.close(write_end)
        tries += 1
        wrong += proc.returncode != 141 or "rror" in proc.stderr
    return {"attack": "stdout closed by its reader (find, show, run -j piped into head)", "tries": tries, "lost": 0, "visible half-written": 0,
            "reused wrongly": 0, "executed": 0, "leaked": 0, "orphans": 0, "wrong exit": wrong}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="kill trials per signal")
    ns = parser.parse_args()
    rng = random.Random(10)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cmx-attacks-") as tmp:
        base = Path(tmp)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
            rows.append(kill_trials(base, signum, ns.trials, rng))
            print(f"  {rows[-1]}", file=sys.stderr)
        rows += secret_trials(base)
        rows += bad_input_trials(base)
        rows.append(pipe_trials(base))
    print("| " + " | ".join(COLUMNS) + " | exit codes / wrong exit |")
    print("|" + "---|" * (len(COLUMNS) + 1))
    for r in rows:
        last = ", ".join(f"{c} x{r['codes'].count(c)}" for c in sorted(set(r["codes"]), key=str)) if "codes" in r else f"{r.get('wrong exit', 0)} wrong"
        print("| " + " | ".join(str(r[c]) for c in COLUMNS) + f" | {last} |")
        for note in r.get("notes", []):
            print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
