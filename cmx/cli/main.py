"""``cmx ACTION AUTOMATION [ARTIFACT] [--flags]``: a thin layer over the API.

Exit codes: 0 success, 1 a recipe failed (or a search found nothing), 2 a usage or
recipe-definition error, 128 + N when stopped by signal N (130 SIGINT, 143 SIGTERM, 129
SIGHUP; the running recipe scripts are stopped first), 141 when the reader of stdout went
away. Help pages live in cmx.cli.help, shell completion in cmx.cli.complete.
Errors are one short message on stderr; ``-v`` adds the Python traceback.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported before the signal handlers are installed (cmx/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable


_stopping = False  # set once cmx is stopping on a signal


def _procs() -> Any:
    """``cmx.execute.procs`` once it is imported in full, else None. A signal may come while it is being
    imported (it is in sys.modules, its functions not yet defined): no script has started then."""
    procs = sys.modules.get("cmx.execute.procs")
    return procs if getattr(procs, "IMPORTED", False) else None


def _on_signal(signum: int, frame: Any) -> None:
    """SIGINT/SIGTERM/SIGHUP: unwind the main thread with ``Interrupted``; a second signal while the
    running scripts are being stopped kills them at once."""
    procs = _procs()
    if _stopping or (procs is not None and procs.stopping()):
        if procs is not None:
            procs.kill_all_now()
        return
    if procs is not None and procs.defer(signum):  # a script is being started: raised once it is registered
        return
    # no import here: the handler runs between any two bytecodes, also in the middle of an import (of
    # re, say), and importing cmx.errors then would meet that module half-done (AttributeError)
    interrupted = getattr(sys.modules.get("cmx.errors"), "Interrupted", None)
    if interrupted is None:  # not imported yet (or being imported): no script can have started
        raise KeyboardInterrupt(signum)
    raise interrupted(signum)


def _install_signal_handlers() -> dict[int, Any]:
    """Handle SIGINT/SIGTERM/SIGHUP; returns the handlers they replace."""
    import _signal  # the C module: `signal` would cost an enum build on every cached command

    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(_signal, name)
        handler = _signal.getsignal(signum)
        if handler != _signal.SIG_IGN:  # e.g. SIGHUP under nohup stays ignored
            previous[signum] = handler
            _signal.signal(signum, _on_signal)
    return previous


def _interrupted(exc: BaseException) -> int:
    """Stop the running scripts, say so in one line, and return 128 + the signal number."""
    global _stopping
    _stopping = True
    signum = getattr(exc, "signum", None) or (exc.args[0] if exc.args and isinstance(exc.args[0], int) else 2)
    procs = _procs()
    stopped = procs.terminate_all(signum) if procs is not None else 0
    name = {1: "SIGHUP", 2: "SIGINT", 15: "SIGTERM"}.get(signum, f"signal {signum}")
    more = f"; stopped {stopped} running recipe script{'s' if stopped != 1 else ''}" if stopped else ""
    try:
        print(f"cmx: interrupted by {name}{more}", file=sys.stderr)
    except OSError:
        pass
    return 128 + signum


def _broken_pipe() -> int:
    """The reader of stdout went away (`cmx find script | head`): stop quietly, as CLI tools do."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the final flush cannot fail again
    except (OSError, ValueError):
        pass
    return 141


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def guarded(body: Callable[[], int]) -> int:
    """Run a command's body as the CLI does: SIGINT/SIGTERM/SIGHUP stop its recipe scripts and give
    128 + N, a closed stdout gives 141 (also for cmx_slurm.node, the body of a Slurm job)."""
    global _stopping
    previous = _install_signal_handlers()
    try:
        return body()
    except KeyboardInterrupt as exc:  # Ctrl-C at any point, start-up included; SIGTERM and SIGHUP too
        return _interrupted(exc)
    except BrokenPipeError:
        return _broken_pipe()
    finally:  # main() called from Python (tests, a wrapper) leaves the caller's handlers as they were
        import _signal

        _stopping = False
        for signum, handler in previous.items():
            _signal.signal(signum, handler if handler is not None else _signal.SIG_DFL)


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "__complete":  # the shell's completion function calls back here: keep it lean
        from cmx.cli.complete import complete_command

        return complete_command(argv[1:])
    if not argv or argv[0] in ("-h", "--help", "help", "completion"):
        return _help_or_completion(argv)
    if argv[0] in ("--version", "version"):
        from cmx import __version__

        print(f"cmx {__version__}")
        return 0
    from cmx import fastpath

    replayed = fastpath.try_replay(argv)
    if replayed is not None:
        return replayed
    verbose = "-v" in argv or "--verbose" in argv
    import gc

    gc.disable()  # a short-lived command; the executor turns it back on before recipes run
    from cmx.errors import CmxError

    try:
        from cmx.cli.flags import parse_argv

        i = parse_argv(argv)
        if i.get("out") == "json":  # CM's spelling of -j
            i["j"] = True
        want_json = bool(i.get("j") or i.get("json"))
        from cmx.cli.dispatch import dispatch

        out = dispatch(i)
    except CmxError as exc:
        return report_error(exc, verbose, "want_json" in locals() and want_json)
    except BrokenPipeError:
        raise
    except OSError as exc:
        from cmx.home import unusable_home

        error = unusable_home(exc)  # a read-only or unwritable CMX_HOME is the user's setting, not a bug
        if error is None:
            return internal_error(exc, verbose)
        print(f"cmx: error: {error}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug in cmx itself: say so, briefly
        return internal_error(exc, verbose)
    memo = out.pop("_memo", None) if isinstance(out, dict) else None
    stdout = memo.get("stdout", "") if memo else ""
    if want_json:
        # an action may define its -j output (e.g. `cmx show cache -j` prints a plain list)
        stdout = _json_text(out.get("json_output", out) if isinstance(out, dict) else out)
        sys.stdout.write(stdout)
        sys.stdout.flush()
    if memo is not None:
        fastpath.write_memo(argv, memo["watch"], memo["entries"], stdout, memo["stderr"])
    return 0


def report_error(exc: Any, verbose: bool, want_json: bool) -> int:
    """A CmxError as one line on stderr (the traceback with -v), and as JSON with -j; its exit code."""
    if verbose:
        import traceback

        traceback.print_exc()
    print(f"cmx: error: {exc}", file=sys.stderr)
    if want_json:
        _print_json(error_json(exc))
    return int(exc.exit_code)


def error_json(exc: Any) -> dict[str, Any]:
    """The answer of a command that failed with a CmxError (what -j prints)."""
    return {"return": exc.exit_code, "error": str(exc), **getattr(exc, "json_extra", {})}


def internal_error(exc: Exception, verbose: bool) -> int:
    if verbose:
        import traceback

        traceback.print_exc()
    print(f"cmx: internal error: {type(exc).__name__}: {exc} (re-run with -v for the traceback)", file=sys.stderr)
    return 1


def _help_or_completion(argv: list[str]) -> int:
    from cmx.errors import CmxError

    try:
        if argv and argv[0] == "completion":
            from cmx.cli.complete import script_for

            text, code = script_for(argv[1:])
        else:
            from cmx.cli.help import help_command

            text, code = help_command(argv[1:])
    except CmxError as exc:
        print(f"cmx: error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        print(text, file=sys.stdout if code == 0 else sys.stderr)
    except BrokenPipeError:  # `cmx help user-guide | head`
        pass
    return code


def _json_text(out: Any) -> str:
    import json

    # indented for a person at a terminal; compact (and several times faster) into a pipe.
    # Results are trees (never circular): json's check for cycles would only cost time.
    return json.dumps(out, indent=2 if sys.stdout.isatty() else None, default=str, check_circular=False) + "\n"


def _print_json(out: Any) -> None:
    sys.stdout.write(_json_text(out))
    sys.stdout.flush()


def run() -> None:
    """The console entry point: exit without tearing down the object graph (a 10k-node plan
    takes ~0.4 s to free); everything cmx writes is flushed or closed before this point."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or _broken_pipe()
    finally:
        import os

        os._exit(code)


if __name__ == "__main__":
    run()
