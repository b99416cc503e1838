"""The layered Python API: Engine -> plan -> status -> execute.

The CLI and the automations are thin layers over this module; nothing here
parses command-line flags or prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmx.cache.store import Store
from cmx.home import Home, current_home
from cmx.index import RecipeIndex

if TYPE_CHECKING:  # planning modules load when something is planned, not for find/show
    from cmx.plan.node import Plan
    from cmx.plan.planner import Request
    from cmx.plan.status import NodeStatus


class Engine:
    def __init__(self, home: Home | None = None) -> None:
        self.home = home or current_home()
        self._index: RecipeIndex | None = None
        self.store = Store(self.home)

    @property
    def index(self) -> RecipeIndex:
        if self._index is None:
            self._index = RecipeIndex.load(self.home)
        return self._index

    def plan(self, request: "Request") -> "Plan":
        import gc

        was_enabled = gc.isenabled()
        gc.disable()  # planning allocates many small, long-lived objects: cyclic GC passes are pure cost here
        try:
            return self._plan(request)
        finally:
            if was_enabled:
                gc.enable()

    def _plan(self, request: "Request") -> "Plan":
        from cmx.plan.planner import Planner, Request

        planner = Planner(self.index, user_env=request.env, user_const=request.const)
        root_request = Request(
            selector=request.selector, env={}, const={}, inputs=request.inputs, adr=request.adr, ad=request.ad,
            version=request.version, version_min=request.version_min, version_max=request.version_max,
            version_max_usable=request.version_max_usable, name=request.name,
        )
        return planner.plan(root_request)

    def status(self, plan: "Plan", *, new: bool = False, skip_cache: bool = False,
               explain: bool = False) -> list["NodeStatus"]:
        from cmx.plan.status import plan_status

        return plan_status(plan, self.store, new=new, skip_cache=skip_cache, explain=explain)

    def lock_for(self, plan: "Plan", statuses: list["NodeStatus"], request_info: dict[str, Any],
                 keys: dict[int, str] | None = None) -> dict[str, Any]:
        from cmx import lockfile

        all_keys: dict[int, str | None] = {s.node.index: s.key for s in statuses}
        all_keys.update(keys or {})
        return lockfile.build(plan, all_keys, request_info)

    def execute(self, plan: "Plan", statuses: list["NodeStatus"], options: Any, reporter: Any,
                api: Any) -> tuple[Any, dict[int, str]]:
        import gc

        from cmx.execute.executor import Executor
        from cmx.trace import trace

        trace("execute", f"runs a plan of {len(plan.nodes)} nodes, root {plan.root.label}")
        gc.enable()  # recipes' hooks may run long and allocate freely
        ex = Executor(plan, statuses, self.store, self.home, options, reporter, api)
        result = ex.run()
        self.last_results = dict(ex.results)
        return result, dict(ex.keys)

    def find(self, selector: Any) -> list[Any]:
        return self.index.with_tags(selector.tags, selector.not_tags)


def frozen_check(path: Path, current: dict[str, Any]) -> None:
    from cmx import lockfile

    lockfile.compare(path, lockfile.read(path), current)
