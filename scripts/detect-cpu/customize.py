"""detect-cpu: export the CPU facts gathered by cpu_facts.py (in this folder)."""

import os

from cmx.execute.customize import load_source


def _helper(name):
    """A helper module next to this file, compiled from source (no __pycache__ in the recipe)."""
    return load_source(os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py"))


def preprocess(i):
    facts = _helper("cpu_facts").collect()
    if not facts["CMX_CPU_THREADS"]:
        return {"return": 1, "error": "could not count CPUs from /proc/cpuinfo, lscpu or os.cpu_count()"}
    i["env"].update(facts)
    i["logger"].info("CPU facts: %s", facts)
    return {"return": 0}
