"""``python -m cmx_slurm.node [-v] < PLAN``: what a Slurm job runs on the compute node.

It reads the plan shipped by the submitting machine (cmx_slurm/carrier.py) on stdin, and runs it
as ``cmx run script -j`` would have run it there, printing the same JSON on stdout:

1. the recipes of the plan are checked against their content digests (an edited recipe: exit 2,
   nothing run);
2. the keys are computed again from the plan's key material on this machine: probes are keyed by
   the machine they run on, so the node runs its own (``detect,os``, GPU probes), and what is built
   on a probe is keyed by the node's probe output, completed by the executor once the probe ran;
3. the cache status is read from the shared store, and the executor runs what is missing.

Nothing here selects a recipe, resolves variations or versions, or loads the recipe index: with
``CMX_TRACE=1`` the job's log has the executor's trace line and no planner's (docs/slurm.md).
"""

from __future__ import annotations

import sys
from typing import Any


def run_shipped(data: bytes, verbose: bool) -> dict[str, Any]:
    from cmx import automation
    from cmx.api import Engine
    from cmx.automation import Context
    from cmx.report import ConsoleReporter
    from cmx_slurm import carrier

    shipped, plan = carrier.unpack(data)
    carrier.check_recipes(plan)  # before anything runs or is read from the cache under these keys
    carrier.rekey(plan)
    options = shipped.options
    engine = Engine()
    statuses = engine.status(plan, new=options.new, skip_cache=options.skip_cache)
    reporter = ConsoleReporter(quiet=options.quiet, verbose=options.verbose or verbose, total=len(plan.nodes))
    for note in plan.notes:
        reporter.note(note)
    probes = [s.node.label for s in statuses if s.node.probe and s.needed]
    if probes and not options.quiet:
        reporter.note(f"slurm job: runs the plan made on {shipped.host}; probes checked on this node: "
                      + ", ".join(probes))
    ctx = Context(engine=engine, quiet=options.quiet, verbose=options.verbose, json=True)
    script = automation.load("script")
    out: dict[str, Any] = script.execute_planned(plan, statuses, options, reporter, shipped.info, ctx)
    other = [f"{row['recipe']}" for row in out["plan"]
             if shipped.keys.get(row["order"]) not in (None, row["key"])]
    if other and not options.quiet:  # computed from the plan's key material with this node's probes
        reporter.note(f"slurm job: keys computed on this node that differ from {shipped.host}'s (a probe is keyed "
                      "by its machine, what is built on one by its output): " + ", ".join(other))
    return out


def main(argv: list[str] | None = None) -> int:
    from cmx.cli.main import guarded

    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args

    def body() -> int:
        import gc
        import json

        from cmx.cli.main import internal_error, report_error
        from cmx.errors import CmxError

        gc.disable()  # as the CLI: the executor turns it back on before recipes run
        try:
            out = run_shipped(sys.stdin.buffer.read(), verbose)
        except CmxError as exc:
            return report_error(exc, verbose, want_json=True)
        except Exception as exc:  # a bug in cmx itself: said briefly, as the CLI does
            return internal_error(exc, verbose)
        sys.stdout.write(json.dumps(out, default=str, check_circular=False) + "\n")
        sys.stdout.flush()
        return 0

    return guarded(body)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
