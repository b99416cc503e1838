"""Re-run the attacks of issue 10 against the real cmx CLI and print the table of docs/reliability.md.

Not part of ``make test`` nor ``make bench``: ``make attacks`` (or ``python benchmarks/attacks.py
[--tries N]``). Every attack runs ``python -m cmx.cli.main`` as a subprocess in a temporary
CMX_HOME (tempfile) and counts, per attack:

- tries: attempts of the attack;
- lost: a run or registration that should have succeeded but whose result is gone (it failed, its
  entry was removed, a registration is missing);
- visible half-written: entry folders of the store seen incomplete by a monitor thread that scans
  every home in use every 20 ms (cmx-entry.json unreadable or not naming its folder, or a file the
  entry exports missing or short), and once more after the attack;
- reused wrongly: a later run served a stale, poisoned or removed entry;
- executed: a bad input, a hostile repository or a hostile archive ran something (canary files);
- leaked: files of the home (and printed outputs for the secret attacks) that contain a secret.
  Every cmx process of every attack also inherits HF_TOKEN=<a random secret>, so this column is
  measured for every attack, not only the secret ones;
- orphans: processes left behind by a recipe's script (the pids a killed script recorded, then any
  process whose working folder is inside the attack's temporary folder), after a grace period.

The kill and secret trials are those of benchmarks/attacks_exec.py (the longer per-signal run).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import attacks_exec  # noqa: E402  (the kill and secret trials)
from tests.scripts.range_server import RangeServer  # noqa: E402  (the download tests' local server)

COLUMNS = ("tries", "lost", "visible half-written", "reused wrongly", "executed", "leaked", "orphans")
SECRET = "atk-secret-" + os.urandom(6).hex()  # HF_TOKEN of every cmx process below
PAYLOAD_SIZE = 64 * 1024


@dataclass
class Row:
    attack: str
    tries: int = 0
    lost: int = 0
    half: int = 0
    wrong: int = 0
    executed: int = 0
    leaked: int = 0
    orphans: int = 0
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        return [self.attack, *(str(v) for v in (self.tries, self.lost, self.half, self.wrong, self.executed,
                                                 self.leaked, self.orphans)), "; ".join(self.notes)]


# -- running cmx --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Res:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def clear_error(self) -> bool:
        """A failure explained in a few lines, without a traceback or an internal error."""
        return bool(self.err.strip()) and "Traceback" not in self.err and "internal error" not in self.err \
            and len(self.err.strip().splitlines()) <= 6


def cmx(home: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Res:
    full = {**os.environ, "CMX_HOME": str(home), **(env or {})}
    p = subprocess.run([sys.executable, "-m", "cmx.cli.main", *args], env=full, capture_output=True, text=True,
                       cwd=cwd or home, timeout=600)
    return Res(p.returncode, p.stdout, p.stderr)


def popen(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cmx.cli.main", *args], env={**os.environ, "CMX_HOME": str(home)},
                            cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parallel(n: int, fn: Callable[[int], Res]) -> list[Res]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def new_home(base: Path, name: str) -> tuple[Path, Path]:
    home, repo = attacks_exec.make_home(base, name)
    return home, repo


def add(repo: Path, alias: str, meta: str, run: str) -> None:
    attacks_exec.add(repo, alias, meta if meta.startswith("alias:") else f"alias: {alias}\n{meta}", run)


def wait_for(path: Path, proc: subprocess.Popen[str], limit: float = 120) -> bool:
    t0 = time.monotonic()
    while not path.exists():
        if proc.poll() is not None or time.monotonic() - t0 > limit:
            return False
        time.sleep(0.02)
    return True


def entries(home: Path) -> list[Path]:
    store = home / "cache" / "store"
    try:
        return [e for shard in store.iterdir() for e in shard.iterdir()]
    except OSError:
        return []


def incomplete(entry: Path) -> bool:
    """An entry folder that a reader could see without its record or its files."""
    try:
        record = json.loads((entry / "cmx-entry.json").read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("key") != entry.name:
            return True
        for value in (record.get("new_env") or {}).values():
            if isinstance(value, str) and value.startswith(str(entry) + os.sep):
                p = Path(value)
                if not p.exists() or (p.suffix == ".atk" and p.stat().st_size != PAYLOAD_SIZE):
                    return True
        return False
    except (OSError, ValueError):
        return entry.exists()  # removed meanwhile (rm, gc, --new) is not half-written


class Monitor:
    """Scans the stores of the homes in use every 20 ms; remembers the entry folders seen incomplete."""

    def __init__(self) -> None:
        self.homes: list[Path] = []
        self.bad: set[Path] = set()
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for home in list(self.homes):
                for e in entries(home):
                    if incomplete(e):
                        self.bad.add(e)
            self.scans += 1
            time.sleep(0.02)

    def start(self) -> "Monitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def watch(self, homes: list[Path]) -> None:
        self.homes = list(homes)

    def count(self, homes: list[Path]) -> int:
        for home in homes:  # once more after the attack
            for e in entries(home):
                if incomplete(e):
                    self.bad.add(e)
        return sum(1 for b in self.bad if any(home in b.parents for home in homes))


def leaked_files(folder: Path, secret: str) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            p = Path(root, name)
            if secret in name:
                out.append(p)
                continue
            try:
                if p.is_file() and not p.is_symlink() and secret.encode() in p.read_bytes():
                    out.append(p)
            except OSError:
                pass
    return out


def leftovers(folder: Path, grace: float = 5.0) -> list[psutil.Process]:
    """Processes (not this one's ancestors) whose working folder or command line is inside ``folder``."""
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    deadline = time.monotonic() + grace
    while True:
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            if proc.pid in mine:
                continue
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                cwd = proc.cwd()
                if cwd.startswith(str(folder)) or any(str(folder) in a for a in proc.info["cmdline"] or []):
                    found.append(proc)
            except (psutil.Error, OSError):
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# -- recipes ------------------------------------------------------------------------------------
# writes its payload slowly (16 chunks), starts a child, exports the file; ATK_GATE holds it if set
SLOW_META = "tags: [atk, slow]\ncache: true\nnew_env_keys: [ATK_*]\n"
SLOW_RUN = f"""
sleep 30 & child=$!
[ -z "$ATK_GATE" ] || {{ touch "$ATK_GATE.started"; while [ ! -e "$ATK_GATE.go" ]; do sleep 0.05; done; }}
i=0
while [ $i -lt 16 ]; do head -c {PAYLOAD_SIZE // 16} /dev/zero >> data.atk; sleep 0.02; i=$((i+1)); done
kill $child 2>/dev/null
echo "ATK_DATA=$PWD/data.atk" >> tmp-run-env.out
echo "ATK_PID=$$" >> tmp-run-env.out
"""


def attack_kills(base: Path, mon: Monitor, tries: int, rng: random.Random) -> list[Row]:
    rows = []
    for signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        home = base / f"kill-{signum}" / "home"
        mon.watch([home])
        r = attacks_exec.kill_trials(base, signum, tries, rng)
        row = Row(f"kill cmx mid-build with {signal.Signals(signum).name} at a random moment, then re-run",
                  r["tries"], r["lost"], r["visible half-written"], r["reused wrongly"], 0, 0, r["orphans"])
        row.half += mon.count([home])
        codes = r["codes"]
        row.notes.append("exits " + ", ".join(f"{c} x{codes.count(c)}" for c in sorted(set(codes), key=str)))
        row.notes += r.get("notes", [])
        rows.append(row)
    return rows


def attack_concurrent_builds(base: Path, mon: Monitor, tries: int) -> Row:
    home, repo = new_home(base, "conc")
    add(repo, "slow", SLOW_META, SLOW_RUN)
    mon.watch([home])
    row = Row("8 concurrent builds of one key")
    built_twice = 0
    for k in range(tries):
        results = parallel(8, lambda _: cmx(home, "run", "script", "--tags=atk,slow", f"--env.ROUND={k}", "-j", "-q"))
        row.tries += 1
        ok = [r for r in results if r.code == 0]
        row.lost += len(results) - len(ok)
        outs = [r.json for r in ok]
        built_twice += len({o["new_env"].get("ATK_PID") for o in outs}) > 1
        for o in outs:
            data = Path(o["new_env"].get("ATK_DATA", "/nonexistent"))
            if not data.exists() or data.stat().st_size != PAYLOAD_SIZE:
                row.wrong += 1
        for r in results:
            if r.code:
                row.notes.append(r.err.strip().splitlines()[-1][:120])
    row.notes.append(f"rounds that built more than once: {built_twice}")
    row.half = mon.count([home])
    return row


# -- hostile repositories -----------------------------------------------------------------------
BOMB = "tags: [bomb]\nenv:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def attack_hostile_repos(base: Path, mon: Monitor) -> Row:
    row = Row("hostile repository: symlink loop, 500-deep meta, YAML alias bomb (then detect,os and a good recipe)")
    for name in ("loop", "deep", "bomb"):
        home, repo = new_home(base, f"hostile-{name}")
        mon.watch([home])
        canary = base / f"hostile-{name}.ran"
        ran = f'touch "{canary}"\n'
        add(repo, "good", "tags: [good]\ncache: true\n", "true\n")
        if name == "loop":
            d = repo / "scripts" / "loopy"
            add(repo, "loopy", "tags: [loopy]\n", ran)
            os.symlink("b", d / "a")
            os.symlink("a", d / "b")
            os.symlink("zloop", repo / "scripts" / "aloop")
            os.symlink("aloop", repo / "scripts" / "zloop")
            bad = "loopy"
        elif name == "deep":
            add(repo, "deep", "tags: [deep]\nenv:\n  X: " + "[" * 500 + "]" * 500 + "\n", ran)
            bad = "deep"
        else:
            add(repo, "bomb", BOMB, ran)
            bad = "bomb"
        row.tries += 1
        t0 = time.monotonic()
        det = cmx(home, "run", "script", "--tags=detect,os", "-j")
        good = cmx(home, "run", "script", "--tags=good", "-j")
        row.lost += det.code != 0 or good.code != 0
        refused = cmx(home, "run", "script", f"--tags={bad}")
        if refused.code == 0 or not refused.clear_error():
            row.notes.append(f"{name}: selecting it gave exit {refused.code}: {refused.err.strip()[-120:]}")
        row.executed += canary.exists()
        index = home / "cache" / ".index" / "recipes.pickle"
        size = index.stat().st_size if index.exists() else 0
        row.notes.append(f"{name}: {time.monotonic() - t0:.1f} s for 3 commands, index {size // 1024} KiB")
        row.half += mon.count([home])
    return row


# -- bad inputs ---------------------------------------------------------------------------------
def attack_bad_inputs(base: Path, mon: Monitor) -> Row:
    home, repo = new_home(base, "badin")
    add(repo, "echo", "alias: echo\ntags: [echo]\ncache: true\ninput_mapping: {text: ECHO_TEXT}\n"
        "new_env_keys: [GOT]\n", 'touch "$RAN"\necho "GOT=$ECHO_TEXT" >> tmp-run-env.out\n')
    mon.watch([home])
    ran, inj = base / "badin.ran", base / "badin.injected"
    run = ["run", "script", "--tags=echo", f"--env.RAN={ran}", "-j"]
    big = base / "big.json"
    big.write_text(json.dumps({"env": {"V": "a" * 1_000_000}}))
    afile = base / "afile"
    afile.write_text("x")
    t = f"touch {inj}"
    # (args, env, must succeed): shell metacharacters are plain text (the run succeeds, nothing injected)
    cases: list[tuple[list[str], dict[str, str], bool]] = [
        (run + [f"--text=$({t})"], {}, True),
        (run + [f"--text=`{t}`"], {}, True),
        (run + [f"--text=; {t}"], {}, True),
        (run + [f"--text=| {t}"], {}, True),
        (run + [f"--text=' ; {t} ; '"], {}, True),
        (run + [f'--text=" && {t} #'], {}, True),
        (run + [f"--env.V=$({t})"], {}, True),
        (run + ["--text=a\nGOT=evil"], {}, False),
        (run + ["--env.V=a\nGOT=evil"], {}, False),
        (run + ["--adr.x.env.V=a\nGOT=evil"], {}, False),
        (run + [f"@{big}"], {}, False),
        (run + ["--jobs=abc"], {}, False),
        (run + ["--jobs=-1"], {}, False),
        (run + ["--no-such-flag"], {}, False),
        (["run", "script", f"--env.RAN={ran}", "-j"], {}, False),  # no tags
        (run + [f"@{base / 'missing.json'}"], {}, False),
        (["gc", "cache", "--older-than=abc"], {}, False),
        (["gc", "cache", "--older-than=-1d"], {}, False),
        (run, {"CMX_HOME": str(afile)}, False),
        (run, {"CMX_HOME": str(afile / "sub")}, False),
        (run, {"CMX_LOCK_TIMEOUT": "abc"}, False),
    ]
    row = Row(f"bad inputs ({len(cases)}: shell metacharacters, newlines, 1 MB value, bad flags and durations, "
              "CMX_HOME a file, bad CMX_* settings)")
    unclear, written, refused_ok = [], 0, 0
    for n, (args, env, ok) in enumerate(cases):
        ran.unlink(missing_ok=True)
        before = set(entries(home))
        r = cmx(home, *args, env=env)
        row.tries += 1
        row.executed += inj.exists()
        inj.unlink(missing_ok=True)
        if ok:
            if r.code != 0:
                row.lost += 1
                unclear.append(f"#{n} exit {r.code}")
            elif args[-1].startswith("--text=") and r.json["new_env"].get("GOT") != args[-1].split("=", 1)[1]:
                row.wrong += 1
            cmx(home, "rm", "cache", "--tags=echo", "-f")
            continue
        row.executed += ran.exists()
        written += len(set(entries(home)) - before)
        if r.code == 0 or not r.clear_error():
            unclear.append(f"#{n} {args[len(run) - 1:] if args[:2] == run[:2] else args[:3]} {env} exit {r.code}: "
                           f"{r.err.strip()[-160:]}")
        else:
            refused_ok += 1
    row.notes.append(f"{refused_ok} refused with one clear line and a non-zero exit")
    row.notes.append(f"entries written by refused inputs: {written}")
    row.notes += [f"not clear: {u}" for u in unclear]
    row.half = mon.count([home])
    return row


# -- gc with a shifted clock --------------------------------------------------------------------
PROBE = "tags: [pr]\nprobe: true\ncache: true\ncache_expiration: 1h\nnew_env_keys: [PR_*]\n"
PROBE_RUN = 'echo "PR_OS=plain" >> tmp-run-env.out\n'
USER = "tags: [user]\ncache: true\ndeps: [{tags: pr}]\nnew_env_keys: [USER_*]\n"
USER_RUN = 'echo "USER_BUILT=$(date +%s%N)-$$" >> tmp-run-env.out\n'


def attack_gc_shift(base: Path, mon: Monitor, tries: int) -> Row:
    home, repo = new_home(base, "gc")
    add(repo, "pr", PROBE, PROBE_RUN)
    add(repo, "user", USER, USER_RUN)
    mon.watch([home])
    row = Row("gc with the clock shifted past the probes' expiry (CMX_CLOCK_SHIFT, entries built on them)")
    for k in range(tries):
        row.tries += 1
        shift = {"CMX_CLOCK_SHIFT": f"{2 + k}h"}
        built = cmx(home, "run", "script", "--tags=user", f"--const.ROUND={k}", "-j")
        hello = cmx(home, "run", "script", "--tags=print,hello-world", "-j")
        if built.code or hello.code:
            row.lost += 1
            continue
        gc = cmx(home, "gc", "cache", "-j", env=shift)
        removed = set(gc.json.get("removed", [])) if gc.code == 0 else set()
        row.lost += sum(1 for b in (built.json, hello.json) if b["key"] in removed or not Path(b["cache_path"]).is_dir())
        again = cmx(home, "run", "script", "--tags=user", f"--const.ROUND={k}", "-j", env=shift)
        if again.code != 0:
            row.lost += 1
        elif not again.json["cached"]:
            row.lost += 1  # the dependent was rebuilt: its entry was lost
        elif again.json["new_env"] != built.json["new_env"]:
            row.wrong += 1
    row.half = mon.count([home])
    return row


# -- memo after --new ---------------------------------------------------------------------------
def attack_memo_new(base: Path, mon: Monitor, tries: int) -> Row:
    home, repo = new_home(base, "memo")
    add(repo, "m", "tags: [memo]\ncache: true\nnew_env_keys: [M_*]\n", 'echo "M_BUILT=$(date +%s%N)-$$" >> tmp-run-env.out\n')
    mon.watch([home])
    row = Row("run twice, --new, run again (the fast-path memo)")
    for k in range(tries):
        row.tries += 1
        args = ["run", "script", "--tags=memo", f"--env.ROUND={k}", "-j"]
        first, second = cmx(home, *args), cmx(home, *args)
        fresh = cmx(home, *args, "--new")
        last = cmx(home, *args)
        if any(r.code for r in (first, second, fresh, last)):
            row.lost += 1
            continue
        if last.json["new_env"]["M_BUILT"] != fresh.json["new_env"]["M_BUILT"]:
            row.wrong += 1
    row.half = mon.count([home])
    return row


# -- a recipe edited during its build -----------------------------------------------------------
def attack_edit_during_build(base: Path, mon: Monitor, tries: int) -> Row:
    home, repo = new_home(base, "edit")
    add(repo, "ed", "tags: [ed]\ncache: true\nnew_env_keys: [ED_*]\n",
        'touch "$GATE.started"\nwhile [ ! -e "$GATE.go" ]; do sleep 0.05; done\n'
        'echo "ED_VALUE=$(cat "$CMX_RECIPE_PATH/value.txt")" >> tmp-run-env.out\n')
    value = repo / "scripts" / "ed" / "value.txt"
    mon.watch([home])
    row = Row("recipe edited during its build, then reverted")
    for k in range(tries):
        row.tries += 1
        value.write_text("one\n")
        gate = base / f"edit-gate-{k}"
        proc = popen(home, "run", "script", "--tags=ed", f"--env.GATE={gate}", "-j")
        started = wait_for(Path(f"{gate}.started"), proc)
        value.write_text(f"two-{k}\n")
        Path(f"{gate}.go").touch()
        proc.communicate(timeout=300)
        if not started:
            row.notes.append(f"try {k}: the build ended before the edit")
        value.write_text("one\n")
        again = cmx(home, "run", "script", "--tags=ed", f"--env.GATE={gate}", "-j")
        if again.code != 0:
            row.lost += 1
        elif again.json["new_env"]["ED_VALUE"] != "one":
            row.wrong += 1
    row.half = mon.count([home])
    return row


# -- rm of a dependency while a dependent builds ------------------------------------------------
def attack_rm_dependency(base: Path, mon: Monitor, tries: int) -> Row:
    home, repo = new_home(base, "rmdep")
    add(repo, "base", "tags: [base]\ncache: true\nnew_env_keys: [BASE_*]\n",
        'echo data > data.txt\necho "BASE_FILE=$PWD/data.txt" >> tmp-run-env.out\n')
    add(repo, "top", "tags: [top]\ncache: true\ndeps: [{tags: base}]\nnew_env_keys: [TOP_*]\n",
        'touch "$GATE.started"\nwhile [ ! -e "$GATE.go" ]; do sleep 0.05; done\n'
        'cp "$BASE_FILE" copy.txt\necho "TOP_FROM=$BASE_FILE" >> tmp-run-env.out\n')
    mon.watch([home])
    row = Row("cmx rm cache of a dependency during a dependent's build")
    refused = 0
    for k in range(tries):
        row.tries += 1
        gate = base / f"rm-gate-{k}"
        cmx(home, "run", "script", "--tags=base", f"--const.ROUND={k}")
        proc = popen(home, "run", "script", "--tags=top", f"--const.ROUND={k}", f"--env.GATE={gate}", "-j")
        if wait_for(Path(f"{gate}.started"), proc):
            rm = cmx(home, "rm", "cache", "--tags=base", "-f")
            refused += rm.code != 0 and "nothing removed" in rm.err
        Path(f"{gate}.go").touch()
        out, _ = proc.communicate(timeout=300)
        row.lost += proc.returncode != 0
        later = cmx(home, "run", "script", "--tags=top", f"--const.ROUND={k}", f"--env.GATE={gate}", "-j")
        if later.code != 0:
            row.lost += 1
            continue
        used = later.json["new_env"].get("TOP_FROM", "")
        if not Path(used).is_file():
            row.wrong += 1  # served an entry that points into a removed dependency
    row.notes.append(f"rm refused naming the holder: {refused} of {row.tries}")
    row.half = mon.count([home])
    return row


# -- concurrent cache: false runs ---------------------------------------------------------------
def attack_uncached_concurrent(base: Path, mon: Monitor, tries: int) -> Row:
    home, repo = new_home(base, "nocache")
    add(repo, "nc", "tags: [nc]\nnew_env_keys: [NC_*]\n", 'echo "NC_DIR=$PWD" >> tmp-run-env.out\n')
    mon.watch([home])
    row = Row("8 concurrent runs of a cache: false recipe")
    dirs: list[str] = []
    for _ in range(tries):
        row.tries += 1
        for r in parallel(8, lambda _: cmx(home, "run", "script", "--tags=nc", "-j", "-q")):
            if r.code:
                row.lost += 1
                row.notes.append(r.err.strip().splitlines()[-1][:120])
            else:
                dirs.append(r.json["new_env"]["NC_DIR"])
    row.wrong += len(dirs) - len(set(dirs))  # two runs shared a run folder
    row.notes.append(f"{len(dirs)} runs, {len(set(dirs))} run folders")
    row.half = mon.count([home])
    return row


# -- concurrent cmx add repo --------------------------------------------------------------------
def attack_add_repo(base: Path, mon: Monitor, tries: int) -> Row:
    row = Row("8 concurrent cmx add repo (all must be kept)")
    for k in range(tries):
        home = base / f"addrepo-{k}" / "home"
        home.mkdir(parents=True)
        mon.watch([home])
        paths = []
        for n in range(8):
            p = base / f"addrepo-{k}" / f"r{n}"
            add(p, f"x{n}", f"tags: [x{n}]\n", "true\n")
            paths.append(p)
        row.tries += 1
        results = parallel(8, lambda n: cmx(home, "add", "repo", str(paths[n])))
        listed = cmx(home, "list", "repo", "-j")
        kept = {r["alias"] for r in listed.json["list"]} if listed.code == 0 else set()
        row.lost += sum(1 for n in range(8) if f"r{n}" not in kept)
        row.notes += [r.err.strip()[-120:] for r in results if r.code]
        row.half += mon.count([home])
    return row


# -- secrets ------------------------------------------------------------------------------------
def attack_secrets(base: Path, mon: Monitor) -> list[Row]:
    rows = []
    mon.watch([base / f"secret-{n}" / "home" for n in range(6)])
    for r in attacks_exec.secret_trials(base):
        row = Row(r["attack"] + " (grep of the whole home and of the output)", r["tries"], leaked=r["leaked"])
        if r.get("wrong exit"):
            row.notes.append(f"unexpected exit codes: {r['wrong exit']}")
        rows.append(row)
    homes = [base / f"secret-{n}" / "home" for n in range(6)]
    for row in rows:
        row.half = 0
    if rows:
        rows[0].half = mon.count(homes)
    return rows


# -- downloads ----------------------------------------------------------------------------------
def _alias(entry: Path) -> str:
    try:
        return str(json.loads((entry / "cmx-entry.json").read_text(encoding="utf-8")).get("alias"))
    except (OSError, ValueError):
        return "?"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (20 << 20))
    return buf.getvalue()


def _tar_bomb(mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name in ("a.bin", "b.bin"):
            data = b"\0" * (8 << 20)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def attack_downloads(base: Path, mon: Monitor) -> list[Row]:
    home, _ = new_home(base, "dl")
    mon.watch([home])
    srv = RangeServer().start()
    rows: list[Row] = []
    canary = base / "dl.executed"
    dl = ["run", "script", "--tags=download,file"]
    ex = ["run", "script", "--tags=download-and-extract"]

    def refused(name: str, args: list[str], expect: str) -> None:
        before = set(entries(home))
        t0 = time.monotonic()
        r = cmx(home, *args)
        row = Row(f"download: {name}", 1)
        if r.code == 0 or expect not in r.err:
            row.wrong += 1  # the hostile answer was accepted (published) or not refused as it should be
            row.notes.append(f"exit {r.code}: {r.err.strip()[-160:]}")
        row.notes.append(f"{time.monotonic() - t0:.1f} s")
        aliases = [_alias(e) for e in set(entries(home)) - before]
        row.notes.append(f"entries published: {aliases.count('download-file')} download (the file itself), "
                         f"{len(aliases) - aliases.count('download-file')} other")
        row.executed += canary.exists()
        rows.append(row)

    try:
        srv.files["/slow.bin"] = b"t" * 200
        srv.trickle["/slow.bin"] = 1.0
        refused("a server trickling one byte a second, --deadline=2", dl + [f"--url={srv.url('/slow.bin')}",
                "--deadline=2", "--env.CMX_DOWNLOAD_RETRIES=0"], "exceeded its deadline")
        srv.files["/target.bin"] = b"r" * 1000
        srv.redirects["/other"] = f"http://localhost:{srv.port}/target.bin"
        refused("redirect to another host", dl + [f"--url={srv.url('/other')}"], "allow it with --allow_redirect_hosts")
        srv.files["/bomb.gz"] = b"\0" * (3 << 20)
        srv.gzip_encoded.add("/bomb.gz")
        refused("gzip-encoded answer (3 MB of zeros in 3 KB)", dl + [f"--url={srv.url('/bomb.gz')}"], "--max_ratio")
        srv.files["/bomb.zip"] = _zip_bomb()
        refused("zip bomb (20 MB of zeros)", ex + [f"--url={srv.url('/bomb.zip')}"], "--max_extract_ratio")
        srv.files["/bomb.tar.xz"] = _tar_bomb("w:xz")
        refused("tar.xz bomb, --max_extract_size=4M", ex + [f"--url={srv.url('/bomb.tar.xz')}",
                "--max_extract_size=4M", "--max_extract_ratio=1000000"], "--max_extract_size")
        hostile = io.BytesIO()
        with tarfile.open(fileobj=hostile, mode="w:gz") as t:
            for name, kind in ((f"../../{canary.name}", tarfile.REGTYPE), ("run.sh", tarfile.SYMTYPE)):
                info = tarfile.TarInfo(name)
                info.type = kind
                if kind == tarfile.SYMTYPE:
                    info.linkname = str(canary)
                t.addfile(info, io.BytesIO(b""))
        srv.files["/evil.tgz"] = hostile.getvalue()
        refused("archive with ../ and an absolute symlink", ex + [f"--url={srv.url('/evil.tgz')}"], "evil.tgz")

        # no validator: a cut partial must not be spliced with a new version of the file
        row = Row("download: resume without ETag/Last-Modified after the file changed", 1)
        srv.no_validators = True
        old, new = b"o" * 300_000, b"n" * 300_000
        srv.files["/nv.bin"] = old
        srv.cut_after["/nv.bin"] = [100_000]
        url = srv.url("/nv.bin")
        cmx(home, *dl, f"--url={url}", "--env.CMX_DOWNLOAD_RETRIES=0")
        srv.files["/nv.bin"] = new
        r = cmx(home, *dl, f"--url={url}", f"--sha256={_sha(new)}", "-j")
        srv.no_validators = False
        if r.code != 0:
            row.lost += 1
            row.notes.append(r.err.strip()[-160:])
        else:
            path = r.json["new_env"].get("CMX_DOWNLOAD_FILE_PATH", "")
            row.wrong += not path or Path(path).read_bytes() != new
        rows.append(row)

        # --local_path with --sha256, the local file tampered with after the first use
        row = Row("download: --local_path with --sha256, the file tampered with after use", 1)
        local = base / "local.bin"
        data = b"L" * 5000
        local.write_bytes(data)
        args = [*dl, f"--local_path={local}", f"--sha256={_sha(data)}", "-j"]
        first = cmx(home, *args)
        local.write_bytes(b"T" * 5000)
        again = cmx(home, *args)
        if first.code != 0:
            row.lost += 1
        if again.code == 0:
            served = Path(again.json["new_env"].get("CMX_DOWNLOAD_FILE_PATH", "/nonexistent"))
            row.wrong += not served.is_file() or served.read_bytes() != data
        row.notes.append(f"second use: exit {again.code}")
        rows.append(row)
    finally:
        srv.stop()
    half = mon.count([home])
    rows[0].half = half
    return rows


# -- the run ------------------------------------------------------------------------------------
def machine() -> str:
    load = os.getloadavg()
    return (f"{platform.machine()}, {os.cpu_count()} cores, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} "
            f"(1/5/15 min) at start")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(rows: list[Row]) -> Iterator[str]:
    head = ["attack", *COLUMNS, "notes"]
    yield "| " + " | ".join(head) + " |"
    yield "|---|" + "---:|" * len(COLUMNS) + "---|"
    for r in rows:
        yield "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in r.cells()) + " |"
    total = Row("**total**", *(sum(getattr(r, a) for r in rows) for a in
                               ("tries", "lost", "half", "wrong", "executed", "leaked", "orphans")))
    yield "| " + " | ".join(total.cells()[:-1]) + " | |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=5, help="tries of each repeated attack (default 5)")
    parser.add_argument("--only", default="", help="comma-separated attack families to run (default: all)")
    ns = parser.parse_args()
    os.environ["HF_TOKEN"] = SECRET  # every cmx below holds a secret it must never write
    for k in ("CMX_HOME", "CMX_NO_MEMO", "CMX_CLOCK_SHIFT", "CMX_LOCK_TIMEOUT"):
        os.environ.pop(k, None)
    started, facts = time.monotonic(), machine()
    rng = random.Random(10)
    mon = Monitor().start()
    families: dict[str, Callable[[Path], Row | list[Row]]] = {
        "kill": lambda b: attack_kills(b, mon, ns.tries, rng),
        "concurrent": lambda b: attack_concurrent_builds(b, mon, ns.tries),
        "hostile": lambda b: attack_hostile_repos(b, mon),
        "bad": lambda b: attack_bad_inputs(b, mon),
        "gc": lambda b: attack_gc_shift(b, mon, ns.tries),
        "memo": lambda b: attack_memo_new(b, mon, ns.tries),
        "edit": lambda b: attack_edit_during_build(b, mon, ns.tries),
        "rm": lambda b: attack_rm_dependency(b, mon, ns.tries),
        "nocache": lambda b: attack_uncached_concurrent(b, mon, ns.tries),
        "addrepo": lambda b: attack_add_repo(b, mon, ns.tries),
        "secrets": lambda b: attack_secrets(b, mon),
        "downloads": lambda b: attack_downloads(b, mon),
    }
    only = [f for f in ns.only.split(",") if f]
    unknown = [f for f in only if f not in families]
    if unknown:
        parser.error(f"unknown attack family {unknown}; choose from {', '.join(families)}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cmx-attacks-") as tmp:
        for name, fn in families.items():
            if only and name not in only:
                continue
            base = Path(tmp) / name
            base.mkdir()
            t0 = time.monotonic()
            got = fn(base)
            new = got if isinstance(got, list) else [got]
            mon.watch([])
            leaks = leaked_files(base, SECRET)
            if leaks:
                new[0].leaked += len(leaks)
                new[0].notes.append("HF_TOKEN found in " + ", ".join(str(p.relative_to(base)) for p in leaks[:3]))
            left = leftovers(base)
            if left:
                new[0].orphans += len(left)
                new[0].notes.append("left running: " + ", ".join(" ".join(p.cmdline())[:60] for p in left[:3]))
                for p in left:
                    try:
                        p.kill()
                    except psutil.Error:
                        pass
            rows += new
            print(f"  {name}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    mon.stop()
    print(f"commit {commit()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {facts}, "
          f"--tries {ns.tries}, {time.monotonic() - started:.0f} s, monitor scans {mon.scans}")
    print()
    for line in table(rows):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
