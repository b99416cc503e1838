"""The `script` automation: run, explain, find, show and test recipes.

A thin layer: it turns CM-style inputs into a typed Request, calls the Engine,
and shapes the result like cmind's (``return``, ``new_env``, ``new_state`` ...).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from cmx import envutil
from cmx.automation import Context
from cmx.errors import CmxError, UsageError
from cmx.selector import parse

if TYPE_CHECKING:  # the planner and executor load only for actions that plan (not for find/show)
    from cmx.execute.result import RunOptions
    from cmx.plan.planner import Request
    from cmx.plan.status import NodeStatus

CONTROL = {
    "action", "automation", "artifact", "artifacts", "tags", "env", "const", "adr", "ad", "add_deps",
    "add_deps_recursive", "version", "version_min", "version_max", "version_max_usable", "new", "skip_cache",
    "dry_run", "fake_run",
    "explain", "jobs", "quiet", "j", "json", "v", "verbose", "lock", "frozen", "out", "f",
}
_ENV_NAME = re.compile(r"^\+?[A-Za-z_][A-Za-z0-9_]*$")


def _env_flag(i: dict[str, Any], field: str) -> dict[str, Any]:
    value = i.get(field) or {}
    if not isinstance(value, dict):
        raise UsageError(f"--{field} needs a key: --{field}.NAME=VALUE")
    out: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict) or not _ENV_NAME.match(k):
            raise UsageError(f"--{field}.{k}: '{k}' is not a valid environment variable name")
        out[k] = v if not isinstance(v, bool) else ("yes" if v else "no")
    return out


def _patches(i: dict[str, Any], *fields: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for field in fields:
        value = i.get(field) or {}
        if not isinstance(value, dict) or any(not isinstance(v, dict) for v in value.values()):
            raise UsageError(f"--{field} takes --{field}.NAME.FIELD=VALUE (e.g. --{field}.python.version_min=3.10)")
        for name, patch in value.items():
            out.setdefault(name, {}).update(patch)
    return out


def request_from(i: dict[str, Any], ctx: Context) -> tuple["Request", "RunOptions"]:
    from cmx.execute.result import RunOptions
    from cmx.plan.planner import Request

    tags = i.get("tags")
    name = None
    artifact = i.get("artifact")
    if artifact and not tags:
        text = " ".join(i.get("artifacts") or [artifact])
        index = ctx.engine.index
        if "," not in text and " " not in text.strip() and (index.by_name(text) or index.broken_named(text)):
            name = text
        else:
            tags = text
    if isinstance(tags, list):
        tags = ",".join(tags)
    if not tags and not name:
        raise UsageError("which recipe? give --tags=... (e.g. --tags=detect,os) or a recipe name")
    selector = parse(str(tags or ""))
    jobs_raw = i.get("jobs", 1)
    try:
        jobs = int(jobs_raw)
        if jobs < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise UsageError(f"--jobs={jobs_raw}: expected a whole number >= 1") from None
    env = _env_flag(i, "env")
    inputs = {k: v for k, v in i.items() if k not in CONTROL}
    req = Request(
        selector=selector, env=env, const=_env_flag(i, "const"), inputs=inputs,
        adr=_patches(i, "adr", "add_deps_recursive"), ad=_patches(i, "ad", "add_deps"),
        version=_opt(i.get("version")), version_min=_opt(i.get("version_min")), version_max=_opt(i.get("version_max")),
        version_max_usable=_opt(i.get("version_max_usable")), name=name,
    )
    options = RunOptions(
        jobs=jobs, new=bool(i.get("new")), skip_cache=bool(i.get("skip_cache")),
        verbose=bool(i.get("v") or i.get("verbose")), quiet=bool(i.get("quiet")),
        user_env=tuple(sorted(env.items())),
        rerun_flags=tuple(_rerun_flags(i)),
    )
    return req, options


def _rerun_flags(i: dict[str, Any]) -> list[str]:
    """--const/--adr/--ad flags of this command, for the 're-run only this node' hint."""
    flags = [f"--{k}={i[k]}" for k in ("version_min", "version_max", "version_max_usable") if i.get(k)]
    for k, v in sorted((i.get("const") or {}).items()):
        if not envutil.is_secret(k):
            flags.append(f"--const.{k}={envutil.as_str(v)}")
    for field in ("adr", "ad"):
        for name, patch in sorted((i.get(field) or {}).items()):
            if isinstance(patch, dict):
                for key, v in sorted(patch.items()):
                    if not isinstance(v, dict):
                        flags.append(f"--{field}.{name}.{key}={envutil.as_str(v)}")
    return flags


def _opt(v: Any) -> str | None:
    return None if v is None or v is True else str(v)


def _request_info(i: dict[str, Any]) -> dict[str, Any]:
    keep = {k: v for k, v in i.items() if k not in ("action", "automation", "j", "json", "v", "verbose", "quiet", "lock", "frozen")
            and not envutil.is_secret(k)}
    return envutil.public_inputs(keep)


def print_plan(statuses: list["NodeStatus"], ctx: Context) -> None:
    rows = []
    for s in statuses:
        n = s.node
        state = "hit" if s.reason.hit else ("maybe" if s.reason.why.value == "conditional"
                                            else "skip" if not s.needed else "run")
        cond = "; ".join(f"if {e.describe_condition()}" for p in n.parents for e in p[0].edges
                         if e.child is n and e.condition)
        rows.append((str(n.index), n.alias, ",".join(f"_{v}" for v in n.variations), n.version or "",
                     (s.key or "pending")[:12], state, s.reason.text() + (f" [{cond}]" if cond else "")))
    header = ("#", "recipe", "variations", "version", "key", "status", "why")
    if not ctx.json and sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="plan (nothing executed)")
        for h in header:
            table.add_column(h)
        for r in rows:
            table.add_row(*r)
        Console().print(table)
        return
    widths = [max(len(r[c]) for r in rows + [header]) for c in range(len(header))]
    ctx.say("plan (nothing executed):")
    for r in [header] + rows:
        ctx.say("  " + "  ".join(r[c].ljust(widths[c]) for c in range(len(header))).rstrip())


def run(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from cmx import lockfile
    from cmx.plan.status import status_json
    from cmx.api import frozen_check
    from cmx.report import ConsoleReporter

    req, options = request_from(i, ctx)
    if i.get("lock"):
        lockfile.check_target(Path(str(i["lock"])))  # before anything runs or is published
    engine = ctx.engine
    plan = engine.plan(req)
    dry = bool(i.get("dry_run") or i.get("fake_run"))
    explain = bool(i.get("explain"))
    statuses = engine.status(plan, new=options.new, skip_cache=options.skip_cache, explain=dry or explain)
    reporter = ConsoleReporter(quiet=options.quiet, verbose=options.verbose, total=len(plan.nodes))
    for note in plan.notes:
        reporter.note(note)
    info = _request_info(i)
    if i.get("frozen"):
        frozen_check(Path(str(i["frozen"])), engine.lock_for(plan, statuses, info))
    if dry:
        if not ctx.json:  # with -j the plan is in the JSON
            print_plan(statuses, ctx)
        out: dict[str, Any] = {"dry_run": True, "recipe": plan.root.alias, "plan": status_json(statuses)}
        if i.get("lock"):  # the lock repeats the plan: written (and returned) only when asked for
            out["lock"] = engine.lock_for(plan, statuses, info)
            lockfile.write(Path(str(i["lock"])), out["lock"])
        return out
    if explain:
        _print_explain(statuses, ctx)
    result, keys = engine.execute(plan, statuses, options, reporter, _Api(ctx))
    lock = engine.lock_for(plan, statuses, info, keys)
    if i.get("lock"):
        lockfile.write(Path(str(i["lock"])), lock)
    summary = status_json(statuses)
    for row in summary:
        row["key"] = keys.get(row["order"], row["key"])
    if not ctx.json:
        reporter.summary(f"cmx: {plan.root.label} {'cached' if result.cached else 'done'}: {result.path}")
    out = {
        "recipe": plan.root.alias,
        "new_env": result.new_env,
        "new_state": result.new_state,
        "cached": bool(result.cached),
        "cache_path": result.path,
        "version": result.version,
        "key": result.key,
        "plan": summary,
        "lock": lock,
    }
    if result.cached:
        out["_memo"] = _memo(engine, reporter, i)
    return out


def _memo(engine: Any, reporter: Any, i: dict[str, Any]) -> dict[str, Any] | None:
    """What the CLI needs to replay this fully cached run (see cmx.fastpath)."""
    if any(envutil.is_secret(k) for field in ("env", "const") for k in (i.get(field) or {})) \
            or any(envutil.is_secret(k) for k in i):
        return None  # the memo holds the command line: never with a secret in it
    entries = []
    for r in engine.last_results.values():
        if not r.cached or not r.path:
            return None
        entry = engine.store.lookup(r.key) if r.key else None
        # the entry read now must be the one the output came from (not replaced meanwhile)
        if entry is None or entry.stamp is None or str(entry.record.get("output_digest")) != r.output_digest:
            return None
        entries.append((str(entry.path / "cmx-entry.json"), entry.expires, list(entry.stamp)))
    stderr = "".join(line + "\n" for line in reporter.lines)
    return {"watch": engine.index.watch, "entries": entries, "stderr": stderr}


def _print_explain(statuses: list["NodeStatus"], ctx: Context) -> list[dict[str, Any]]:
    out = []
    for s in statuses:
        if s.reason.hit or not s.needed:
            continue
        out.append({"recipe": s.node.label, "reason": s.reason.why.value, "details": list(s.reason.details)})
        ctx.say(f"{s.node.label}: {s.reason.text()}")
    if not out:
        ctx.say("everything needed is cached")
    return out


def explain(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from cmx.plan.status import status_json

    req, options = request_from(i, ctx)
    plan = ctx.engine.plan(req)
    statuses = ctx.engine.status(plan, new=options.new, skip_cache=options.skip_cache, explain=True)
    return {"explain": _print_explain(statuses, ctx), "plan": status_json(statuses)}


def find(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    tags = i.get("tags") or " ".join(i.get("artifacts") or [])
    index = ctx.engine.index
    if tags and "," not in str(tags) and index.by_name(str(tags)):
        recipes = index.by_name(str(tags))
    else:
        sel = parse(str(tags))
        recipes = index.with_tags(sel.tags, sel.not_tags)
        broken = index.broken_with_tags(sel.tags)
        for b in broken:
            print(f"cmx: warning: broken recipe matches: {b.error}", file=sys.stderr)
    for r in recipes:
        ctx.say(f"{r.alias:<32} {','.join(r.tags):<40} {r.path}")
    memo = None
    if not index.broken_with_tags(parse(str(tags)).tags if tags else ()):
        memo = {"watch": index.watch, "entries": [], "stderr": "", "stdout": "".join(ctx.printed)}
    return {"_memo": memo, "list": [{"alias": r.alias, "uid": r.uid, "tags": list(r.tags), "path": str(r.path), "repo": r.repo}
                     for r in recipes]}


def _one(i: dict[str, Any], ctx: Context) -> Any:
    name = i.get("artifact") or i.get("name")
    if not name and i.get("tags"):
        sel = parse(str(i["tags"]))
        found = ctx.engine.index.with_tags(sel.tags, sel.not_tags)
    else:
        found = ctx.engine.index.by_name(str(name)) if name else []
    if not found:
        broken = ctx.engine.index.broken_named(str(name)) if name else []
        if broken:
            broken[0].raise_error()
        raise UsageError(f"no recipe named '{name}'", hint="list recipes with `cmx find script --tags=...`")
    return found[0]


def show(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    r = _one(i, ctx)
    meta = r.meta
    variations = meta.get("variations") or {}
    groups: dict[str, list[str]] = {}
    for v, d in variations.items():
        groups.setdefault((d or {}).get("group") or "(no group)", []).append(v + (" (default)" if (d or {}).get("default") else ""))
    ctx.say(f"{r.alias}  uid={r.uid}  repo={r.repo}\n  path: {r.path}\n  tags: {','.join(r.tags)}")
    ctx.say(f"  cache: {bool(meta.get('cache'))}  probe: {bool(meta.get('probe'))}  digest: {r.digest[:16]}")
    for g, vs in groups.items():
        ctx.say(f"  variations [{g}]: " + ", ".join(f"_{v}" for v in vs))
    described = meta.get("input_description") or {}
    for flag, key in (meta.get("input_mapping") or {}).items():
        d = described.get(flag)
        text = d if isinstance(d, str) else (d or {}).get("desc", "")
        default = "" if not isinstance(d, dict) or "default" not in d else f" (default: {d['default']})"
        ctx.say(f"  --{flag} -> {key}" + (f"   {text}{default}" if text or default else ""))
    if meta.get("new_env_keys"):
        ctx.say(f"  exports: {', '.join(meta['new_env_keys'])}")
    return {"recipe": r.to_json()}


def test(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Run the checks a recipe declares under ``tests: run_inputs:``."""
    from cmx.cli.dispatch import dispatch
    from cmx.errors import EXIT_FAILED

    r = _one(i, ctx)
    cases = (r.meta.get("tests") or {}).get("run_inputs") or []
    if not cases:
        raise UsageError(f"recipe '{r.alias}' declares no tests (tests: run_inputs: in {r.meta_file})")
    results = []
    for n, case in enumerate(cases):
        tags = ",".join(list(r.tags) + [f"_{v}" for v in case.get("variations_list") or []])
        if case.get("tags"):
            tags += "," + str(case["tags"])
        sub = {"action": "run", "automation": "script", "tags": tags, "env": dict(case.get("env") or {}),
               "quiet": True, **(case.get("input") or {})}
        problems: list[str] = []
        try:
            out = dispatch(sub, Context(engine=ctx.engine, quiet=True, json=True))
            if case.get("expect_failure"):
                problems.append("expected a failure, but it succeeded")
            for key, pattern in (case.get("expect_env") or {}).items():
                value = out["new_env"].get(key)
                if value is None or not re.search(str(pattern), envutil.as_str(value)):
                    problems.append(f"{key}={value!r} does not match /{pattern}/")
        except CmxError as exc:
            if not case.get("expect_failure"):
                problems.append(str(exc).splitlines()[0])
        ok = not problems
        results.append({"case": n, "tags": tags, "ok": ok, "problems": problems})
        ctx.say(f"  {'PASS' if ok else 'FAIL'} {r.alias} case {n} ({tags})" + ("".join(f"\n      {p}" for p in problems)))
    failed = sum(not x["ok"] for x in results)
    ctx.say(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        err = CmxError(f"{failed} of {len(results)} test case(s) of '{r.alias}' failed")
        err.exit_code = EXIT_FAILED
        raise err
    return {"tests": results}


class _Api:
    """What a recipe's customize.py gets as ``i['cmx']`` / ``i['automation']``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def access(self, request: dict[str, Any]) -> dict[str, Any]:
        import cmx

        return cmx.access(request)

    def run(self, **kwargs: Any) -> dict[str, Any]:
        return self.access({"action": "run", "automation": "script", **kwargs})


ACTIONS = {"run": run, "explain": explain, "find": find, "show": show, "test": test}
