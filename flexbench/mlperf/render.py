"""Render the jinja2 templates of ``flexbench/mlperf/templates/``.

Undefined variables are errors (``StrictUndefined``); ``json`` is a filter that
writes a JSON value (``json.dumps``, non-ASCII kept), so JSON templates stay valid
whatever text a field holds.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def render_json(template: str, **context: Any) -> dict[str, Any]:
    """Render a JSON template and parse it back, so a broken template fails here, not in the checker."""
    text = render(template, **context)
    try:
        value = json.loads(text)
    except ValueError as exc:  # a bug in the template, not bad user input
        raise RuntimeError(f"template {template} rendered invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RuntimeError(f"template {template} must render a JSON object")
    return value
