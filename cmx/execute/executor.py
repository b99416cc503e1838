"""Execute a plan: keys, cache hits, locked builds, parallel independent nodes.

``ensure(node)`` runs a node (inline, in the calling thread) or waits for the
thread already running it. With ``--jobs N``, N-1 workers start ready nodes
that the plan needs, so independent branches run side by side. A DAG cannot
deadlock this: a thread only waits on nodes that do not depend on it.
"""

from __future__ import annotations

import dataclasses
import errno
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from cmx import clock, envutil
from cmx.cache.store import ENTRY_FILE, BadEntry, Holds, Store, parse_duration
from cmx.errors import EXIT_USAGE, CmxError, RecipeFailed
from cmx.execute.result import NodeResult, Reporter, RunOptions
from cmx.home import Home
from cmx.plan.keys import digest
from cmx.plan.node import LateDep, Plan, PlanNode, conditional_key
from cmx.plan.status import NodeStatus


def _allow_depth(plan: Plan) -> None:
    """``ensure`` runs a node's dependencies by calling itself (two Python frames a level): let a deep
    chain of dependencies run (Python calls do not grow the C stack since 3.11; the limit only counts)."""
    if sys.version_info < (3, 11):
        return  # there, each frame uses C stack: keep Python's guard
    depth: dict[int, int] = {}
    for n in plan.nodes:  # dependencies first
        depth[n.index] = 1 + max((depth.get(e.child.index, 0) for e in n.edges), default=0)
    wanted = 4 * max(depth.values(), default=0) + 1000
    if wanted > sys.getrecursionlimit():
        sys.setrecursionlimit(wanted)


class Executor:
    def __init__(self, plan: Plan, statuses: list[NodeStatus], store: Store, home: Home,
                 options: RunOptions, reporter: Reporter, api: Any,
                 outer: "tuple[frozenset[str], dict[str, NodeResult]] | None" = None) -> None:
        self.plan = plan
        self.status = {s.node.index: s for s in statuses}
        self.store = store
        self.home = home
        self.options = options
        self.reporter = reporter
        self.api = api
        self.results: dict[int, NodeResult] = {}
        self.errors: dict[int, BaseException] = {}
        self.running: dict[int, threading.Event] = {}
        self.keys: dict[int, str] = {}
        self.cond = threading.Condition()
        self.stop = False
        self.noted_bad: set[str] = set()
        # for a plan made at run time (a conditional dependency, see run_late): the identities of the nodes
        # running around it (a cycle if it needs one of them), and the results of the outer plans' nodes
        self.active, self.inherited = outer or (frozenset(), {})

    # -- public ---------------------------------------------------------------------
    def run(self) -> NodeResult:
        from cmx.execute import procs

        procs.resume()  # an earlier run in this process (the Python API) may have been interrupted
        _allow_depth(self.plan)
        workers = [threading.Thread(target=self._worker, daemon=True, name=f"cmx-worker-{i}")
                   for i in range(max(0, self.options.jobs - 1))]
        for w in workers:
            w.start()
        try:
            return self.ensure(self.plan.root)
        except KeyboardInterrupt as exc:  # SIGINT/SIGTERM/SIGHUP: stop every running script, every thread's
            procs.terminate_all(getattr(exc, "signum", 2))
            workers = []  # daemons, possibly inside a hook: not waited for
            raise
        finally:
            with self.cond:
                self.stop = True
                self.cond.notify_all()
            for w in workers:
                w.join()

    def ensure(self, node: PlanNode) -> NodeResult:
        idx = node.index
        with self.cond:
            if idx in self.results:
                return self.results[idx]
            if idx in self.errors:
                raise self.errors[idx]
            event = self.running.get(idx)
            claimed = event is None
            if claimed:
                event = self.running[idx] = threading.Event()
        assert event is not None
        if not claimed:
            self._help_until(event)
            with self.cond:
                if idx in self.errors:
                    raise self.errors[idx]
                return self.results[idx]
        try:
            result = self._execute_reporting_full_disk(node)
        except BaseException as exc:
            with self.cond:
                self.errors[idx] = exc
                self.stop = True
                self.cond.notify_all()
            event.set()
            raise
        with self.cond:
            self.results[idx] = result
            self.cond.notify_all()
        event.set()
        return result

    # -- scheduling -------------------------------------------------------------------
    def _help_until(self, event: threading.Event) -> None:
        """Wait for a node another thread runs, starting other ready nodes meanwhile,
        so N threads stay busy with --jobs N."""
        while not event.is_set():
            node = None
            if self.options.jobs > 1:
                with self.cond:
                    if not self.stop:
                        node = self._ready()
                        if node is not None:
                            self.running[node.index] = threading.Event()
            if node is None:
                event.wait(0.05)
                continue
            self._run_claimed(node)

    def _run_claimed(self, node: PlanNode) -> None:
        event = self.running[node.index]
        try:
            result = self._execute_reporting_full_disk(node)
        except BaseException as exc:
            with self.cond:
                self.errors[node.index] = exc
                self.stop = True
                self.cond.notify_all()
            event.set()
            return
        with self.cond:
            self.results[node.index] = result
            self.cond.notify_all()
        event.set()

    def _ready(self) -> PlanNode | None:
        """A needed node none of whose dependencies (any phase) is still to run: a thread that
        starts it never waits on another, so helping cannot deadlock on the DAG."""
        for n in self.plan.nodes:
            st = self.status[n.index]
            if not st.needed or n.index in self.running:
                continue
            if all(e.child.index in self.results for e in n.edges):
                return n
        return None

    def _worker(self) -> None:
        while True:
            with self.cond:
                node = None
                while not self.stop:
                    node = self._ready()
                    if node is not None:
                        self.running[node.index] = threading.Event()
                        break
                    self.cond.wait(0.5)
                if self.stop:
                    return
            self._run_claimed(node)

    # -- keys -------------------------------------------------------------------------
    def key_of(self, node: PlanNode) -> str:
        known = self.keys.get(node.index)
        if known is not None:
            return known
        # the keys of the dependencies first (a probe's output digest once it has run), from an explicit
        # stack rather than by recursion, so that a chain of any depth works
        stack = [(node, False)]
        while stack:
            n, ready = stack.pop()
            if n.index in self.keys:
                continue
            if not ready:
                stack.append((n, True))
                stack += [(e.child, False) for e in n.edges
                          if e.late is None and not e.child.probe and e.child.index not in self.keys]
                continue
            child_keys = ["if:" + conditional_key(e.child) if e.late is not None else
                          "probe:" + self.ensure(e.child).output_digest if e.child.probe else self.keys[e.child.index]
                          for e in n.edges]
            key = n.compute_key(child_keys)
            with self.cond:
                self.keys[n.index] = key
        return self.keys[node.index]

    # -- one node ---------------------------------------------------------------------
    def _execute_reporting_full_disk(self, node: PlanNode) -> NodeResult:
        """``_execute``, with a full disk (or quota) reported as this recipe's failure, naming the path."""
        try:
            return self._execute(node)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            where = exc.filename or self.home.cache_root
            error = RecipeFailed(
                node.label, f"no space left on the device writing {where}: free some space (or set CMX_HOME "
                f"to another file system) and run again", chain=node.chain(), rerun=self.rerun_command(node),
            )
            self.reporter.node_failed(node, error)
            raise error from None

    def _execute(self, node: PlanNode) -> NodeResult:
        known = self.inherited.get(node.identity)
        if known is not None:  # the same node already ran in the plan around this one
            return known
        if node.identity in self.active:  # a dependency planned at run time needs a node that waits on it
            error = RecipeFailed(node.label, "a dependency cycle at run time: it is already running, waiting on "
                                 "a conditional dependency that needs it again", chain=node.chain())
            self.reporter.node_failed(node, error)
            raise error
        t0 = time.monotonic()
        forced = self.options.new and node is self.plan.root
        cacheable = node.cached and not self.options.skip_cache
        key = self.key_of(node)
        if cacheable and not forced:
            hit = self._hit(node, key, t0)
            if hit is not None:
                return hit
        why = self.status[node.index].reason.text() if node.index in self.status else ""
        for e in node.children("deps"):  # run dependencies before taking this node's lock
            if e.condition is None and not e.continue_on_error:
                self.ensure(e.child)  # runs it here, or helps with other nodes while another thread does
        self.reporter.node_started(node, why)
        with self.store.hold(node.label) as holds:
            gone = self._hold_children(node, holds)
            if gone:
                error = RecipeFailed(node.label, f"{gone} was removed from the cache after this run used it; "
                                     "nothing ran", chain=node.chain(), rerun=self.rerun_command(node))
                self.reporter.node_failed(node, error)
                raise error
            if not cacheable:
                work = self.store.new_run_dir(node.alias, key)
                holds.add_run(work)
                outcome = self._phases(node, key, work, failed_dir=None)
                result = NodeResult(node.index, key, outcome.new_env, outcome.new_state, False, str(work),
                                    outcome.version, digest([outcome.new_env, outcome.new_state]),
                                    time.monotonic() - t0)
                self.reporter.node_finished(node, result)
                return result
            with self.store.locked(key, node.label):
                if not forced:
                    hit = self._hit(node, key, t0)
                    if hit is not None:
                        return hit
                build = self.store.new_build_dir(key)
                outcome = self._phases(node, key, build, failed_dir=build)
                self._check_before_publish(node, key, build, holds)
                record = self._record(node, key, outcome)
                relocate = list(node.recipe.meta.get("relocate_files") or [])
                entry = self.store.publish(key, build, record, relocate)
        r = entry.record
        result = NodeResult(node.index, key, r["new_env"], r["new_state"], False, str(entry.path),
                            r.get("version"), r["output_digest"], time.monotonic() - t0)
        self.reporter.node_finished(node, result)
        return result

    # -- dependencies planned at run time ------------------------------------------------
    def run_late(self, node: PlanNode, late: LateDep, env: dict[str, Any]) -> NodeResult:
        """Plan a conditional dependency of ``node`` on the env its step has now and run it, with its own
        dependencies (a deferred dependency whose condition holds, or one whose tags or env read what an
        earlier step produced). A planning error is a CmxError for the caller to report."""
        from cmx.plan.status import plan_status

        if self.plan.planner is None:
            raise CmxError("this plan cannot plan dependencies at run time")
        sub = self.plan.planner().plan_late(node, late, env)
        active = set(self.active)
        stack = [node]
        while stack:  # the node and everything waiting on it
            n = stack.pop()
            if n.identity not in active:
                active.add(n.identity)
                stack += [p for p, _ in n.parents]
        with self.cond:
            done = {n.identity: self.results[n.index] for n in self.plan.nodes if n.index in self.results}
        statuses = plan_status(sub, self.store, skip_cache=self.options.skip_cache)
        options = dataclasses.replace(self.options, new=False, jobs=1)
        inner = Executor(sub, statuses, self.store, self.home, options, self.reporter, self.api,
                         outer=(frozenset(active), {**self.inherited, **done}))
        return inner.ensure(sub.root)

    def _hold_children(self, node: PlanNode, holds: Holds) -> str:
        """Hold the cache entries this node's finished dependencies came from, so that `cmx rm
        cache` refuses to remove them while this node runs; names the ones already gone."""
        held: dict[str, str] = {}
        for e in node.edges:
            with self.cond:
                res = self.results.get(e.child.index)
            if res is not None and res.key and res.path and e.child.cached and not self.options.skip_cache:
                held[res.key] = e.child.label
        return ", ".join(f"{held[k]} ({k[:12]})" for k in holds.add(list(held)))

    def _missing_dependency(self, node: PlanNode) -> str:
        """A cached, non-probe, unconditional dependency whose entry is not in the store: a hit of
        ``node`` would point into a folder that is gone. (A probe's dependents hold its output.)"""
        for e in node.edges:
            if e.child.probe or not e.child.cached or e.late is not None or e.continue_on_error:
                continue
            child_key = self.keys.get(e.child.index)
            if child_key and not (self.store.entry_path(child_key) / ENTRY_FILE).is_file():
                return f"{e.child.label} ({child_key[:12]})"
        return ""

    def _check_before_publish(self, node: PlanNode, key: str, build: Path, holds: Holds) -> None:
        """Publish only what the key describes: the recipe as hashed at planning, and
        dependencies that are still in the cache."""
        problem = None
        gone = self._hold_children(node, holds)  # hook dependencies ran during the build
        if gone:
            problem = f"{gone} was removed from the cache during this build; its result was not cached"
        changed = node.recipe.changed_files()
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            problem = (f"the recipe changed while it was building ({shown} in {node.recipe.path}); "
                       "its result was not cached under the old content's key")
        if problem is None:
            return
        where = self.store.fail(build, node.alias, key)
        error = RecipeFailed(node.label, problem, chain=node.chain(), log_path=where / "cmx-run.log",
                             rerun=self.rerun_command(node))
        self.reporter.node_failed(node, error)
        raise error

    def _hit(self, node: PlanNode, key: str, t0: float) -> NodeResult | None:
        entry = self.store.read(key)
        if isinstance(entry, BadEntry):  # rebuilt in its place; `cmx gc cache` would remove it
            if key not in self.noted_bad:
                self.noted_bad.add(key)
                self.reporter.note(f"{node.label}: unusable cache entry {entry.path} ({entry.reason}): rebuilding it")
            return None
        if entry is None or entry.expired:
            return None
        missing = self._missing_dependency(node)
        if missing:  # built on an entry that is gone (removed behind cmx's back): never served as is;
            if key not in self.noted_bad:  # the dependency runs first, then this is a hit again, or rebuilt
                self.noted_bad.add(key)
                self.reporter.note(f"{node.label}: its cached entry was built on {missing}, which is no longer "
                                   "in the cache: that runs first")
            return None
        r = entry.record
        version = r.get("version")
        if version and not node.version_req.admits(str(version)):  # ranges are checked on hits too
            error = RecipeFailed(
                node.label, f"cached version {version} does not satisfy {node.version_req.describe()} "
                f"(asked by {'; '.join(c.source for c in node.version_req.causes())})",
                chain=node.chain(), rerun=self.rerun_command(node) + " --new",
            )
            self.reporter.node_failed(node, error)
            raise error
        result = NodeResult(node.index, key, r.get("new_env", {}), r.get("new_state", {}), True, str(entry.path),
                            version, str(r.get("output_digest")), time.monotonic() - t0)
        self.reporter.node_finished(node, result)
        return result

    def _phases(self, node: PlanNode, key: str, work: Path, failed_dir: Path | None) -> Any:
        log_path = work / "cmx-run.log"
        echo: Callable[[str], None] | None = None
        if self.options.verbose or (node is self.plan.root and not self.options.quiet):
            echo = lambda line: self.reporter.output(node, line)  # noqa: E731
        from cmx.execute.phases import PhaseFailure, run_phases

        try:
            final = self.store.entry_path(key) if failed_dir is not None else None
            self._write_provenance(node, work)  # before the run, so a recipe can embed it in its results
            outcome = run_phases(node, work, self.ensure, log_path, echo, self.api, dict(node.inputs), final,
                                 self.run_late, dict(self.options.user_env))
            if outcome.version and not node.version_req.admits(outcome.version):
                raise PhaseFailure(
                    f"detected version {outcome.version} does not satisfy {node.version_req.describe()} "
                    f"(asked by {'; '.join(c.source for c in node.version_req.causes())})"
                )
            return outcome
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) and not exc.filename:
                exc.filename = str(work)  # a write that failed names no file: name the build folder
            raise
        except PhaseFailure as exc:
            where = self.store.fail(failed_dir, node.alias, key) if failed_dir is not None else work
            log = where / "cmx-run.log"
            tail = _tail(log, 15)
            if exc.detail:  # the full traceback goes to the log, not to the screen
                with open(log, "a", encoding="utf-8") as fh:
                    fh.write(exc.detail)
            error = RecipeFailed(
                node.label, str(exc), chain=node.chain(), exit_status=exc.exit_status,
                log_path=log if log.exists() else None, log_tail=tail, rerun=self.rerun_command(node),
            )
            if exc.usage:
                error.exit_code = EXIT_USAGE  # bad input a hook found: a usage error, exit 2
            self.reporter.node_failed(node, error)
            raise error from None

    def _record(self, node: PlanNode, key: str, outcome: Any) -> dict[str, Any]:
        now = clock.now()
        expiration = node.effective.get("cache_expiration")
        child_keys = ["if:" + conditional_key(e.child) if e.late is not None else
                      self.keys.get(e.child.index) if not e.child.probe else
                      "probe:" + self.results[e.child.index].output_digest if e.child.index in self.results else None
                      for e in node.edges]
        new_env = envutil.scrub(outcome.new_env)
        return {
            "alias": node.alias,
            "uid": node.recipe.uid,
            "tags": list(node.recipe.tags),
            "variations": list(node.variations),
            "version": outcome.version,
            "probe": node.probe,
            "created": now,
            "expires": now + parse_duration(expiration) if expiration else None,
            "recipe_path": str(node.recipe.path),
            "recipe_files": [list(p) for p in node.recipe.file_digests],
            "material": node.key_material([str(k) for k in child_keys]),
            "deps": [k for k in (self.keys.get(e.child.index) for e in node.edges) if k],
            "new_env": new_env,
            "new_state": outcome.new_state,
            "output_digest": digest([new_env, outcome.new_state]),
        }

    def _write_provenance(self, node: PlanNode, work: Path) -> None:
        """The resolved subplan of this node, with its keys and the machine, next to its outputs."""
        from cmx import lockfile

        keys: dict[int, str | None] = {s: k for s, k in self.keys.items()}
        lockfile.write(work / "cmx-lock.json", lockfile.build(self.plan, keys, {"recipe": node.label}, root=node))

    def rerun_command(self, node: PlanNode) -> str:
        tags = ",".join(list(node.recipe.tags) + [f"_{v}" for v in node.variations])
        parts = ["cmx", "run", "script", f"--tags={tags}"]
        if node.version:
            parts.append(f"--version={node.version}")
        env = dict(self.options.user_env)
        env.update(node.given_env)
        for k, v in sorted(env.items()):
            if not envutil.is_secret(k):
                parts.append(f"--env.{k}={envutil.redact(envutil.as_str(v))}")
        for k, v in sorted(envutil.public_inputs(node.inputs).items()):
            parts.append(f"--{k}={envutil.as_str(v)}")
        parts += list(self.options.rerun_flags)
        return " ".join(shlex.quote(p) for p in parts)


def _tail(path: Path, n: int) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line[:300] for line in lines[-n:]]
