"""Helpers for tests that replay captured GPU tool output (tests/scripts/data/README.md says where it came from).

A test that cannot have a GPU here puts a tiny `nvidia-smi` or `rocm-smi` script first on
PATH. It prints a captured real output for the command line the recipe uses and
fails for any other command line, so nothing is invented: a question the capture
cannot answer gets no answer.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def replay_tool(bin_dir: Path, name: str, when_args_contain: str, capture: Path | None,
                exit_code: int = 0, message: str = "") -> Path:
    """Write bin_dir/name: for argument lists containing `when_args_contain`, print `capture` (or `message`) and exit."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    body = f"cat {shlex.quote(str(capture))}" if capture else f"printf '%s\\n' {shlex.quote(message)}"
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'case " $* " in\n'
        f'  *{shlex.quote(when_args_contain)}*) {body}; exit {exit_code} ;;\n'
        f'  *) echo "{name}: no captured output for: $*" >&2; exit 2 ;;\n'
        "esac\n")
    script.chmod(0o755)
    return script


def path_with(bin_dir: Path) -> dict[str, str]:
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def load_module(path: Path, name: str):
    """Import a recipe's helper module by path, as its customize.py does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
