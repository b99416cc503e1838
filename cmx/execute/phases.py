"""Run one node's phases in CM's order, in its work folder:

deps -> preprocess -> prehook_deps -> run script -> posthook_deps -> postprocess -> post_deps

Dependencies are obtained through ``ensure`` (the scheduler runs or waits for
them); conditions deferred by the planner are evaluated here, on the live env.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from cmx import envutil
from cmx.envutil import Env
from cmx.execute import customize, script
from cmx.execute.result import NodeResult
from cmx.plan.node import Edge, PlanNode


class PhaseFailure(Exception):
    """One phase of a node failed; the executor turns it into RecipeFailed."""

    def __init__(self, message: str, exit_status: int | None = None, detail: str = "", usage: bool = False) -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.detail = detail
        self.usage = usage  # a hook reported bad input: the command exits 2


@dataclass
class Outcome:
    env: Env
    state: dict[str, Any]
    new_env: Env
    new_state: dict[str, Any]
    version: str | None


def merge_dep_outputs(env: Env, state: dict[str, Any], result: NodeResult) -> None:
    envutil.merge_env(env, result.new_env)
    for k, v in result.new_state.items():
        if isinstance(v, dict) and isinstance(state.get(k), dict):
            state[k] = {**state[k], **v}
        else:
            state[k] = v


def _masker(env: Env) -> envutil.Masker:
    """What to mask in this node's log and outputs: its secret env values, the secrets inside its
    other values, and cmx's own secret environment (which its script inherits)."""
    inherited = {k: v for k, v in os.environ.items() if envutil.is_secret(k)}
    return envutil.Masker.for_env({**inherited, **env})


class _MaskingFormatter(logging.Formatter):
    """A hook's log lines (``i['logger']``) reach cmx-run.log with secrets masked."""

    def __init__(self, fmt: str, masker: envutil.Masker) -> None:
        super().__init__(fmt)
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        return self.masker.text(super().format(record))


def _apply_meta_patches(node: PlanNode, env: Env, state: dict[str, Any]) -> None:
    """The ``update_meta_if_env`` entries left to run time, on the env after the deps: env, default_env, const,
    state; the pinned env (the user's --env/--const, the recipe's const) still wins."""
    held = [p.patch for p in node.meta_patches if p.at_run_time and envutil.dep_enabled(p.condition, env)]
    for patch in held:
        envutil.merge_env(env, patch.get("default_env") or {}, only_missing=True)
        envutil.merge_env(env, patch.get("env") or {})
        envutil.merge_env(env, patch.get("const") or {})
        for k, v in (patch.get("state") or {}).items():
            state[k] = {**state[k], **v} if isinstance(v, dict) and isinstance(state.get(k), dict) else v
    if held:
        envutil.merge_env(env, node.pinned)


_UNSET = object()


def _edge_enabled(edge: Edge, env: Env) -> bool:
    return edge.condition is None or envutil.dep_enabled(edge.condition, env)


def run_phases(
    node: PlanNode,
    work_dir: Path,
    ensure: Callable[[PlanNode], NodeResult],
    log_path: Path,
    echo: Callable[[str], None] | None,
    api: Any,
    inputs: dict[str, Any],
    final_dir: Path | None = None,
    run_late: Callable[[PlanNode, Any, Env], NodeResult] | None = None,
    user_env: Mapping[str, Any] | None = None,
) -> Outcome:
    env: Env = copy.deepcopy(node.env)
    state: dict[str, Any] = copy.deepcopy(node.state)
    eff = node.effective

    foreign = node.recipe.path.parent.name == "script"  # a CM/MLC recipe (cmx.compat.hooks.is_foreign)

    def take(result: NodeResult) -> None:
        merge_dep_outputs(env, state, result)
        if foreign:  # CM_/MLC_/CMX_ names side by side
            from cmx.compat.envmap import mirror

            mirror(env, result.new_env)

    def planned_late(what: str, late: Any) -> NodeResult:
        """A conditional dependency planned now, on the env this step has now (see Executor.run_late)."""
        from cmx.errors import CmxError, RecipeFailed

        if late is None or run_late is None:
            raise PhaseFailure(f"the dependency {what} is needed now, but it cannot be planned at run time")
        try:
            return run_late(node, late, env)
        except RecipeFailed:
            raise
        except CmxError as exc:
            raise PhaseFailure(f"the dependency {what} is needed now, but it cannot be planned on the env of "
                               f"this step: {str(exc).splitlines()[0]}") from exc

    def run_deps(phase: str) -> None:
        from cmx.errors import RecipeFailed
        from cmx.plan.planner import late_request

        deferred = [d for d in node.deferred if d.phase == phase]  # decided now that the env it reads is known
        edges = list(node.children(phase))
        before = None if phase == "deps" else dict(env)
        for position in range(len(edges) + 1):
            for d in deferred:
                if d.after == position and envutil.dep_enabled(d.condition, env):
                    take(planned_late(d.describe(), d.late))
            if position == len(edges):
                break
            edge = edges[position]
            if not _edge_enabled(edge, env):
                continue
            try:
                if edge.late is not None and late_request(edge.late, env) != edge.late.request:
                    # its tags, env or inputs read what an earlier step produced: planned again on that
                    take(planned_late(f"{phase} '{edge.late.request[0]}' at {edge.source}", edge.late))
                else:
                    take(ensure(edge.child))
            except RecipeFailed:
                if not edge.continue_on_error:
                    raise
        if before is None:  # the user's --env/--const and the recipe's const win over dep outputs
            envutil.merge_env(env, node.pinned)
        else:  # after preprocess: a hook dependency's export never beats them either, but preprocess's own
            # change to a --env value stands (docs/recipe-format.md "At run time"); a const always wins
            envutil.merge_env(env, {k: v for k, v in node.pinned.items() if env.get(k) != before.get(k)
                                    or (user_env or {}).get(k, _UNSET) != v})

    env.update({"CMX_RECIPE_PATH": str(node.recipe.path), "CMX_RUN_DIR": str(work_dir)})
    if node.version:
        env["CMX_VERSION"] = node.version
    if final_dir is not None:  # where a cached build will be published (for recipes that must embed it)
        env["CMX_ENTRY_PATH"] = str(final_dir)
    masker = _masker(env)
    logger = logging.getLogger(f"cmx.recipe.{node.alias}.{node.index}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    formatter = _MaskingFormatter("%(asctime)s %(levelname)s %(message)s", masker)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    try:
        try:
            module = customize.load(node.recipe.path)
        except customize.HookError as exc:
            raise PhaseFailure(str(exc), detail=exc.detail, usage=exc.usage) from exc
        i = {
            "env": env,
            "state": state,
            "const": dict(eff["const"]),
            "meta": node.recipe.meta,
            "input": inputs,
            "script_tags": list(node.recipe.tags),
            "variation_tags": list(node.variations),
            "version": node.version,
            "recipe_path": str(node.recipe.path),
            "run_path": str(work_dir),
            "os_info": script.os_facts(),
            "logger": logger,
            "cmx": api,
            "automation": api,
        }
        detected: str | None = None
        base = str(eff.get("script_name") or node.recipe.meta.get("script_name") or "run")
        if foreign:
            from cmx.compat import hooks as compat

            compat.adapt(i, module, node.recipe.path, work_dir, log_path, os.getcwd())
            i["run_script_input"]["script_name"] = base

        def hook(name: str) -> dict[str, Any]:
            try:
                if foreign:
                    with compat.in_work_dir(work_dir):
                        return customize.call(module, name, i)
                return customize.call(module, name, i)
            except customize.HookError as exc:
                raise PhaseFailure(str(exc), detail=exc.detail, usage=exc.usage) from exc

        if foreign and node.recipe.meta.get("predeps", True) is not False:
            hook("predeps")  # MLC's: before the dependencies run, on the env their conditions read
        run_deps("deps")
        _apply_meta_patches(node, env, state)  # update_meta_if_env decided now (CM/MLC recipes)
        masker = formatter.masker = _masker(env)  # with what the dependencies and the pinned env brought
        out = hook("preprocess")
        skip = bool(out.get("skip"))
        detected = out.get("version") or detected
        run_deps("prehook_deps")
        if foreign:  # CM's preprocess may choose the script: i['run_script_input']['script_name'] = 'detect'
            base = str(i["run_script_input"].get("script_name") or base)
        if not skip:
            found = script.find_script(node.recipe.path, base)
            if found is None and foreign and base != str(eff.get("script_name") or node.recipe.meta.get("script_name") or "run"):
                raise PhaseFailure(f"preprocess chose the script '{base}', but {node.recipe.path} has no {base}.sh")
            if found is not None:
                (work_dir / "tmp-state.json").write_text(json.dumps(state, default=str), encoding="utf-8")
                text, secrets = script.render(found, work_dir, env, f"recipe {node.label}", cm_quoting=foreign)
                try:
                    code = script.run(text, work_dir, secrets, log_path, echo, masker)
                    out_env, out_state = script.read_outputs(work_dir) if code == 0 else ({}, {})
                finally:  # the copies kept in the work folder (an entry, a failure folder) are masked
                    script.mask_outputs(work_dir, masker)
                if code != 0:
                    raise PhaseFailure(f"{found.name} failed with {script.describe_exit(code)}", exit_status=code)
                envutil.merge_env(env, out_env)
                state.update(out_state)
        run_deps("posthook_deps")
        out = hook("postprocess")
        detected = out.get("version") or detected
        run_deps("post_deps")
    finally:
        logger.removeHandler(handler)
        handler.close()
    detected = detected or env.get("CMX_DETECTED_VERSION") or None
    for internal in ("CMX_RECIPE_PATH", "CMX_RUN_DIR", "CMX_ENTRY_PATH", "CMX_VERSION"):  # engine facts, not outputs
        env.pop(internal, None)
    if foreign:
        for internal in compat.TMP_KEYS:
            env.pop(internal, None)
    # secrets are never outputs: secret keys dropped, secrets inside values masked
    new_env = dict(envutil.redact_env(envutil.scrub(envutil.select_new_env(env, envutil.substitute(list(eff["new_env_keys"]), env)))))
    new_state = envutil.redact({k: v for k, v in state.items() if envutil.key_matches(k, eff["new_state_keys"])})
    return Outcome(env, state, new_env, new_state, str(detected) if detected else node.version)
