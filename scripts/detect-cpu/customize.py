"""detect-cpu: export the CPU facts gathered by cpu_facts.py (in this folder)."""

import importlib.util
import os


def _helper(name):
    """Load a helper module that sits next to this file, by path (recipe folders are not packages)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"cmx_detect_cpu_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preprocess(i):
    facts = _helper("cpu_facts").collect()
    if not facts["CMX_CPU_THREADS"]:
        return {"return": 1, "error": "could not count CPUs from /proc/cpuinfo, lscpu or os.cpu_count()"}
    i["env"].update(facts)
    i["logger"].info("CPU facts: %s", facts)
    return {"return": 0}
