"""Load a recipe's ``customize.py`` and call its hooks with CM's ``i`` contract."""

from __future__ import annotations

import threading
import traceback
import types
from pathlib import Path
from typing import Any

from cmx.errors import RecipeDefinitionError, Location

_modules: dict[str, types.ModuleType] = {}
_lock = threading.Lock()


class HookError(Exception):
    """A hook returned an error or raised; carries a short message and location. ``usage``: the
    hook said the error is bad input (``{'return': 1, 'error': ..., 'usage': True}``): exit 2."""

    def __init__(self, message: str, detail: str = "", usage: bool = False) -> None:
        super().__init__(message)
        self.detail = detail
        self.usage = usage


def load_source(path: str | Path, prefix: str = "cmx_recipe_") -> types.ModuleType:
    """Execute a Python file as a fresh module, compiled from source so that no ``__pycache__``
    is written into a recipe folder. For helpers a recipe's ``customize.py`` shares with another
    recipe (list the file in ``code_paths`` so it is part of the recipe's content)."""
    path = Path(path)
    module = types.ModuleType(f"{prefix}{path.stem}_{abs(hash(str(path)))}")
    module.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


def load(recipe_dir: Path) -> types.ModuleType | None:
    path = recipe_dir / "customize.py"
    if not path.is_file():
        return None
    with _lock:
        cached = _modules.get(str(path))
        if cached is not None:
            return cached
        try:
            if recipe_dir.parent.name == "script":  # a CM/MLC recipe: `from cmind import utils`, its repo's utils
                from cmx.compat.hooks import importing

                with importing(recipe_dir):
                    module = load_source(path, prefix="cmx_customize_")
            else:
                module = load_source(path, prefix="cmx_customize_")
        except SyntaxError as exc:
            raise RecipeDefinitionError(Location(path, exc.lineno), f"syntax error in customize.py: {exc.msg}") from exc
        except Exception as exc:
            import traceback

            raise HookError(f"{path} failed to import: {type(exc).__name__}: {exc}", traceback.format_exc()) from exc
        _modules[str(path)] = module
        return module


def call(module: types.ModuleType | None, hook: str, i: dict[str, Any]) -> dict[str, Any]:
    """Call ``hook(i)``; a return of ``{'return': >0, 'error': ...}`` or an exception is a HookError."""
    fn = getattr(module, hook, None) if module is not None else None
    if fn is None:
        return {"return": 0}
    import contextlib
    import sys

    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is reserved for -j's JSON
            out = fn(i)
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{f.filename}:{f.lineno}" for f in reversed(tb) if f.filename == module.__file__), "")  # type: ignore[union-attr]
        raise HookError(f"{hook}() raised {type(exc).__name__}: {exc}" + (f" at {where}" if where else ""),
                        traceback.format_exc()) from exc
    if out is None:
        return {"return": 0}
    if not isinstance(out, dict):
        raise HookError(f"{hook}() returned {type(out).__name__}, expected a dict like {{'return': 0}}")
    if int(out.get("return", 0) or 0) > 0:
        raise HookError(f"{hook}(): {out.get('error', 'returned an error without a message')}",
                        usage=out.get("usage") is True)
    return out
