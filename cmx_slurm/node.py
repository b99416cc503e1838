"""What a Slurm job runs on the compute node: the plan shipped by the submitting machine.

``execute`` (called in the job's process by cmx_slurm/job.py; ``python -m cmx_slurm.node < PLAN``
does the same and prints the JSON) runs the plan (cmx_slurm/carrier.py) as ``cmx run script -j``
would have run it there, with the same JSON answer:

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


def execute(data: bytes, verbose: bool = False) -> tuple[int, dict[str, Any]]:
    """Run a shipped plan in this process, as the CLI runs a command (SIGINT/SIGTERM/SIGHUP stop its
    scripts and give 128 + N; a CmxError is one line on stderr): the exit code and the JSON answer."""
    import gc

    from cmx.cli.main import error_json, guarded, internal_error, report_error
    from cmx.errors import CmxError

    answer: dict[str, Any] = {}

    def body() -> int:
        try:
            answer.update(run_shipped(data, verbose))
            return 0
        except CmxError as exc:
            answer.update(error_json(exc))
            return report_error(exc, verbose, want_json=False)
        except Exception as exc:  # a bug in cmx itself: said briefly, as the CLI does
            answer.update({"return": 1, "error": f"internal error: {type(exc).__name__}: {exc}"})
            return internal_error(exc, verbose)

    was_enabled = gc.isenabled()
    gc.disable()  # as the CLI: the executor turns it back on before recipes run
    try:
        return guarded(body), answer
    finally:
        if was_enabled:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    """``python -m cmx_slurm.node [-v] < PLAN``: the JSON answer on stdout, the exit code of the run."""
    import json

    args = list(sys.argv[1:] if argv is None else argv)
    code, answer = execute(sys.stdin.buffer.read(), "-v" in args)
    sys.stdout.write(json.dumps(answer, default=str, check_circular=False) + "\n")
    return code


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
