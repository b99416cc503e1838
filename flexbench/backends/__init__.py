"""Inference backends behind one small interface (see ``base.Backend``)."""

from __future__ import annotations

from typing import Any


def create(name: str, config: dict[str, Any]) -> Any:
    if name == "hf":
        from flexbench.backends.hf import HFBackend

        return HFBackend(config)
    if name == "openai":
        from flexbench.backends.openai import OpenAIBackend

        return OpenAIBackend(config)
    if name == "noop":
        from flexbench.backends.noop import NoopBackend

        return NoopBackend(config)
    raise ValueError(f"unknown backend '{name}' (hf, openai, noop)")
