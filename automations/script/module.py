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
from cmx.automation import Context, Flag, declare, spec_keys
from cmx.errors import CmxError, NothingFound, UnknownInputError, UsageError
from cmx.flagspec import check_env_value
from cmx.selector import parse
from cmx_slurm.options import FLAGS as SLURM_FLAGS  # --executor, --slurm.*, --detach (docs/slurm.md)

if TYPE_CHECKING:  # the planner and executor load only for actions that plan (not for find/show)
    from cmx.execute.result import RunOptions
    from cmx.plan.planner import Request
    from cmx.plan.status import NodeStatus

# the flags of the actions that plan (declared once, shared by run and explain)
TAGS = Flag("tags", "tags", "which recipe: its tags, _variations, -tags to exclude (or give a NAME)",
            example="--tags=print,hello-world,_json")
SELECT_FLAGS = (
    TAGS,
    Flag("env", "env", "env for every node of the plan (beats a variation's env)", example="--env.CMX_HELLO_NAME=Ada"),
    Flag("const", "env", "env that beats everything, for every node", example="--const.MODE=fast"),
    Flag("adr", "patch", "patch every dependency named NAME, anywhere in the tree (tags, env, version_min, an input)",
         example="--adr.python.version_min=3.10", aliases=("add_deps_recursive",)),
    Flag("ad", "patch", "the same, for the requested recipe's own dependencies only",
         example="--ad.os.tags=_x", aliases=("add_deps",)),
    Flag("version", "version", "the exact version of the requested recipe"),
    Flag("version_min", "version", "the lowest acceptable version", example="--version_min=3.10"),
    Flag("version_max", "version", "the highest acceptable version"),
    Flag("version_max_usable", "version", "the version to install when nothing acceptable is found"),
    Flag("new", "bool", "rebuild the requested recipe even if it is cached (its dependencies are reused); "
         "--renew is CM's spelling", aliases=("renew",)),
    Flag("skip_cache", "bool", "run every node without reading or writing the cache (results in cache/runs/)"),
)
RUN_FLAGS = SELECT_FLAGS + (
    Flag("dry-run", "bool", "print the plan (hits, misses and why) and run nothing", aliases=("fake_run",), short="n"),
    Flag("explain", "bool", "print why each node will run, then run"),
    Flag("jobs", "int", "run up to N independent nodes at once", example="--jobs 4", takes_next=True),
    Flag("lock", "path", "write the resolved plan as a lockfile", example="--lock plan.lock", takes_next=True),
    Flag("frozen", "path", "re-plan and compare with a lockfile first; exit 2 if anything differs",
         example="--frozen plan.lock", takes_next=True),
)
_ENV_NAME = re.compile(r"^\+?[A-Za-z_][A-Za-z0-9_]*$")


def _env_flag(i: dict[str, Any], field: str) -> dict[str, Any]:
    value = i.get(field) or {}
    if not isinstance(value, dict):
        raise UsageError(f"--{field} needs a key: --{field}.NAME=VALUE")
    out: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, dict) or not _ENV_NAME.match(k):
            raise UsageError(f"--{field}.{k}: '{k}' is not a valid environment variable name")
        check_env_value(field, k, v)
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
    _check_version_flags(i)
    jobs_raw = i.get("jobs", 1)
    try:
        jobs = int(jobs_raw)
        if jobs < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise UsageError(f"--jobs={jobs_raw}: expected a whole number >= 1") from None
    envutil.check_user_values(i, skip=("action", "automation"))  # newlines, oversized values: exit 2
    env = _env_flag(i, "env")
    inputs = {k: v for k, v in i.items() if k not in _ENGINE_KEYS}
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


_VERSION_FIELDS = ("version", "version_min", "version_max", "version_max_usable")


def _check_version_flags(i: dict[str, Any]) -> None:
    """Versions given through --adr/--ad patches are checked like --version_min itself."""
    from cmx.flagspec import convert

    for field in ("adr", "ad", "add_deps_recursive", "add_deps"):
        for name, patch in (i.get(field) or {}).items():
            for key in _VERSION_FIELDS:
                if isinstance(patch, dict) and key in patch:
                    patch[key] = convert(Flag(f"{field}.{name}.{key}", "version"), patch[key])


def _plan(engine: Any, req: "Request") -> Any:
    """engine.plan(req), with the command line's flags told apart from the recipe's inputs: an unknown
    input that is a CM engine flag (or close to one of cmx's) says so, and an --adr/--ad NAME that no
    dependency declares is an error (it would be silently ignored)."""
    from cmx.flagspec import COMMON_FLAGS, nearest, unknown_input

    try:
        plan = engine.plan(req)
    except UnknownInputError as exc:
        if exc.source != "the command line":
            raise
        error = unknown_input(exc, RUN_FLAGS + COMMON_FLAGS + SLURM_FLAGS)
        if error is exc:
            raise
        raise error from exc
    for field, nodes in (("adr", plan.nodes), ("ad", [plan.root])):
        wanted = getattr(req, field)
        if not wanted:
            continue
        declared: set[str] = set()
        for node in nodes:
            declared |= _dep_names(node.recipe.meta)
        unknown = sorted(set(wanted) - declared)
        if unknown:
            near = nearest(unknown[0], declared)
            deeper = field == "ad" and unknown[0] in set().union(*(_dep_names(n.recipe.meta) for n in plan.nodes))
            scope = "no dependency in the plan" if field == "adr" else f"no direct dependency of '{plan.root.alias}'"
            raise UsageError(f"--{field}.{unknown[0]}: {scope} is named '{unknown[0]}' "
                             f"(names: {', '.join(sorted(declared)) or 'none'})",
                             hint=f"'{unknown[0]}' is a deeper dependency: --adr.{unknown[0]} reaches it" if deeper
                             else f"did you mean --{field}.{near}?" if near else None)
    return plan


def _dep_names(meta: Any) -> set[str]:
    """Every ``names:`` of a dependency entry anywhere in a meta (deps of all phases and variations)."""
    out: set[str] = set()
    stack = [meta]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            names = node.get("names")
            if "tags" in node and names:
                out.update([names] if isinstance(names, str) else [str(n) for n in names])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


_USERINFO = re.compile(r"(://[^/@\s:]+):[^/@\s]+@")


def outputs_brief(env: dict[str, Any], limit: int = 16, width: int = 300) -> list[str]:
    """The env a run exports, one short line per key, secrets masked: what a run prints without -j."""
    lines = []
    for k, v in sorted(env.items()):  # sorted: a fresh run and a cached one print the same lines
        text = "***" if envutil.is_secret(k) else _USERINFO.sub(r"\1:***@", envutil.as_str(envutil.redact(v)))
        text = text.replace("\n", "\\n")
        if len(text) > width:
            text = text[:width - 3] + "..."
        lines.append(f"  {k}={text}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"  ... and {len(lines) - limit} more (-j prints them all)"]
    return lines


def _opt(v: Any) -> str | None:
    return None if v is None or v is True else str(v)


def request_info(i: dict[str, Any]) -> dict[str, Any]:
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
        cond += "".join(f"; conditional, planned at run time: {d.describe()}" for d in n.deferred)
        if n.inherited:  # CM's shared env (docs/compat.md)
            cond += f"; env from its dependent: {', '.join(n.inherited)}"
        cond += "".join(f"; {p.describe()}" for p in n.meta_patches)
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


@declare(
    "Run a recipe and everything it depends on, reusing what is cached.",
    *RUN_FLAGS, *SLURM_FLAGS, args="[NAME | TAGS]", recipe_inputs=True,
    example="cmx run script --tags=print,hello-world --name=Ada --env.CMX_HELLO_GREETING=Hi",
    details="Prints each node's progress on stderr, then the requested recipe's cache path and the env it exports "
            "(secrets masked); -j prints one JSON object instead.",
)
def run(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from cmx import lockfile
    from cmx.plan.status import status_json
    from cmx.api import frozen_check
    from cmx.report import ConsoleReporter

    from cmx_slurm.options import executor_of

    executor = executor_of(i)
    req, options = request_from(i, ctx)
    if i.get("lock"):
        lockfile.check_target(Path(str(i["lock"])))  # before anything runs or is published
    engine = ctx.engine
    plan = _plan(engine, req)
    dry = bool(i.get("dry_run") or i.get("fake_run"))
    explain = bool(i.get("explain"))
    statuses = engine.status(plan, new=options.new, skip_cache=options.skip_cache, explain=dry or explain)
    reporter = ConsoleReporter(quiet=options.quiet, verbose=options.verbose, total=len(plan.nodes))
    for note in plan.notes + (plan.details if options.verbose else []):
        reporter.note(note)
    info = request_info(i)
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
    # planned here, run there from this plan (cmx_slurm/, docs/slurm.md); a probe's hit here says nothing
    # about the compute node (probes are keyed by machine, cmx/host.py): a plan with one runs there too
    if executor == "slurm" and any(s.needed and (not s.reason.hit or s.node.probe) for s in statuses):
        from cmx_slurm.script import run_script

        return run_script(i, ctx, plan, statuses, options, info)
    out = execute_planned(plan, statuses, options, reporter, info, ctx)
    if i.get("lock"):
        lockfile.write(Path(str(i["lock"])), out["lock"])
    if out["cached"]:
        out["_memo"] = _memo(ctx.engine, reporter, i)
    return out


def execute_planned(plan: Any, statuses: list["NodeStatus"], options: "RunOptions", reporter: Any,
                    info: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Run a plan and shape the answer of ``run``: a plan made here, or one made on the submitting
    machine and shipped to a Slurm job (cmx_slurm/node.py), which gives the same JSON."""
    from cmx.plan.status import status_json

    engine = ctx.engine
    result, keys = engine.execute(plan, statuses, options, reporter, _Api(ctx))
    lock = engine.lock_for(plan, statuses, info, keys)
    summary = status_json(statuses)
    for row in summary:
        row["key"] = keys.get(row["order"], row["key"])
    if not ctx.json:
        reporter.summary(f"cmx: {plan.root.label} {'cached' if result.cached else 'done'}: {result.path}")
        for line in outputs_brief(result.new_env):
            reporter.summary(line)
    return {
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


def _memo(engine: Any, reporter: Any, i: dict[str, Any]) -> dict[str, Any] | None:
    """What the CLI needs to replay this fully cached run (see cmx.fastpath)."""
    if envutil.holds_secret(i):
        return None  # the memo holds the command line: never with a secret in it, in any shape
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


@declare("Print which nodes of a plan would (re)build and why; runs nothing.",
         *SELECT_FLAGS, args="[NAME | TAGS]", recipe_inputs=True,
         example="cmx explain script --tags=print,hello-world --env.CMX_HELLO_NAME=me")
def explain(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from cmx.plan.status import status_json

    req, options = request_from(i, ctx)
    plan = _plan(ctx.engine, req)
    statuses = ctx.engine.status(plan, new=options.new, skip_cache=options.skip_cache, explain=True)
    return {"explain": _print_explain(statuses, ctx), "plan": status_json(statuses)}


@declare("List the recipes that have all the given tags (or the given name), in precedence order, with the "
         "repository and folder of each.",
         Flag("tags", "tags", "tags the recipes must have; -tag excludes one; REPO: first for one repository; "
              "none lists every recipe", example="--tags=get,python"),
         Flag("show-broken", "bool", "also list the recipes cmx cannot read (with the reason) and uids declared twice"),
         args="[NAME | TAGS]", example="cmx find script --tags=detect",
         details="Exits 1 when nothing matches (like grep), with the nearest names or tags as a hint. Built-in recipes "
                 "come first, then the registered repositories in repos.yaml order (docs/user-guide.md#precedence).")
def find(i: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Recipes matching tags (or a name), in precedence order, with the repository of each;
    ``--show-broken`` also lists the recipes cmx cannot read, with the reason, and clashing uids."""
    tags = i.get("tags") or " ".join(i.get("artifacts") or [])
    text = str(tags)
    index = ctx.engine.index
    named = index.by_name(text, strict=False) if tags and "," not in text and " " not in text.strip() else []
    warnings = []
    if named:
        recipes = named
        broken = index.broken_named(text)
    else:
        sel = parse(text)
        recipes = index.with_tags(sel.tags, sel.not_tags, sel.repo)
        broken = index.broken_with_tags(sel.tags, sel.repo, sel.not_tags) if sel.tags else \
            [b for b in index.broken if not sel.repo or b.repo == sel.repo]
        if sel.tags:
            warnings = [f"cmx: warning: broken recipe matches: {b.error.splitlines()[0]}\n" for b in broken]
    show_broken = bool(i.get("show_broken"))
    if not recipes and not (show_broken and broken):
        sys.stderr.write("".join(warnings))
        raise NothingFound(f"no recipe matches '{tags}'", hint=_near_recipes(ctx, str(tags)))
    for r in recipes:
        ctx.say(f"{r.alias:<32} {r.repo:<12} {','.join(r.tags):<40} {r.path}")
    duplicates = index.duplicate_uids() if show_broken else []
    if show_broken:
        for b in broken:
            ctx.say(f"broken: {b.alias} ({b.repo or '?'}): {b.error}")
        for uid, same in duplicates:
            ctx.say(f"duplicate uid {uid}: " + ", ".join(f"{r.meta_file} ({r.repo})" for r in same))
    elif warnings:
        sys.stderr.write("".join(warnings))
    memo = {"watch": index.watch, "entries": [], "stderr": "" if show_broken else "".join(warnings),
            "stdout": "".join(ctx.printed)}
    out: dict[str, Any] = {
        "_memo": memo,
        "list": [{"alias": r.alias, "uid": r.uid, "tags": list(r.tags), "path": str(r.path), "repo": r.repo}
                 for r in recipes]}
    if show_broken:
        out["broken"] = [{"alias": b.alias, "repo": b.repo, "path": str(b.path), "error": b.error} for b in broken]
        out["duplicate_uids"] = [{"uid": uid, "recipes": [{"alias": r.alias, "repo": r.repo, "meta_file": str(r.meta_file)}
                                                          for r in same]} for uid, same in duplicates]
    return out


def _near_recipes(ctx: Context, text: str) -> str:
    """'did you mean ...' for a name or tags that match nothing: the nearest aliases, then tags."""
    import difflib

    index = ctx.engine.index
    words = [w for w in re.split(r"[,\s]+", text) if w and not w.startswith(("-", "_"))]
    hints = []
    if len(words) == 1:
        close = difflib.get_close_matches(words[0], sorted(index.aliases()), n=3, cutoff=0.6)
        if close:
            hints.append("did you mean " + " or ".join(close) + "?")
    tags = index.all_tags()
    for w in (w for w in words if w not in tags):
        close = difflib.get_close_matches(w, tags, n=3, cutoff=0.6)
        if close:
            hints.append(f"no recipe has the tag '{w}'; close: {', '.join(close)}")
            break
    return "; ".join(hints) or "list recipes with `cmx find script` (every recipe) or `cmx find script --tags=...`"


def _one(i: dict[str, Any], ctx: Context) -> Any:
    name = i.get("artifact")
    if not name and not i.get("tags"):
        what = "cmx " + str(i.get("action", "show")) + " script"
        raise UsageError(f"{what}: which recipe? give its name (or --tags=...)",
                         hint=f"e.g. {what} print-hello-world; list names with `cmx find script`")
    if not name:
        sel = parse(str(i["tags"]))
        found = ctx.engine.index.with_tags(sel.tags, sel.not_tags)
        if not found:
            raise UsageError(f"no recipe has all the tags {i['tags']}", hint=_near_recipes(ctx, str(i["tags"])))
    else:
        found = ctx.engine.index.by_name(str(name))
    if not found:
        broken = ctx.engine.index.broken_named(str(name))
        if broken:
            broken[0].raise_error()
        raise UsageError(f"no recipe named '{name}'", hint=_near_recipes(ctx, str(name)))
    return found[0]


@declare("Show a recipe: its folder, tags, variations by group, input flags (with help and defaults), exports.",
         Flag("tags", "tags", "show the first recipe with these tags instead of a NAME"),
         args="NAME", example="cmx show script print-hello-world")
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
    for note in meta.get("_cmx_notes") or []:  # cmx.meta.loader.NOTES_KEY: a CM/MLC meta read loosely
        ctx.say(f"  note: {note}")
    return {"recipe": r.to_json()}


@declare("Run the checks a recipe declares under `tests: run_inputs:` (exit 1 if one fails, 2 if it has none).",
         Flag("tags", "tags", "test the first recipe with these tags instead of a NAME"),
         args="NAME", example="cmx test script print-hello-world")
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

    @property
    def quiet(self) -> bool:
        """Whether the outer command is quiet (-q): a hook prints nothing then."""
        return self.ctx.quiet

    def run(self, **kwargs: Any) -> dict[str, Any]:
        # a nested run shows its progress lines unless the outer command is quiet (or quiet=True is given)
        kwargs.setdefault("quiet", self.ctx.quiet)
        return self.access({"action": "run", "automation": "script", **kwargs})


ACTIONS = {"run": run, "explain": explain, "find": find, "show": show, "test": test}
_ENGINE_KEYS = spec_keys(run.cmx_spec)  # type: ignore[attr-defined]  # the rest of a run's input dict: recipe inputs
