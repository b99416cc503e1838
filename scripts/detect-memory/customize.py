"""detect-memory: RAM and swap through psutil, in bytes and GiB."""

import psutil

GIB = 1024**3


def preprocess(i):
    ram, swap = psutil.virtual_memory(), psutil.swap_memory()
    facts = {
        "CMX_MEMORY_TOTAL": ram.total,
        "CMX_MEMORY_AVAILABLE": ram.available,
        "CMX_MEMORY_SWAP_TOTAL": swap.total,
        "CMX_MEMORY_SWAP_FREE": swap.free,
    }
    for key, value in facts.items():
        i["env"][f"{key}_BYTES"] = str(value)
        i["env"][f"{key}_GIB"] = f"{value / GIB:.2f}"
    return {"return": 0}
