"""Print what torch reports about GPUs as one JSON object (run by detect-gpu in the target interpreter)."""

import json

try:
    import torch
except Exception:  # not installed, or broken: either way torch cannot tell us anything
    print(json.dumps({"torch": None}))
    raise SystemExit(0)

out = {"torch": torch.__version__, "cuda": torch.version.cuda, "hip": getattr(torch.version, "hip", None),
       "devices": []}
if torch.cuda.is_available():
    for index in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(index)
        out["devices"].append({"name": p.name, "total_memory": p.total_memory, "major": p.major,
                               "minor": p.minor, "gcn_arch": getattr(p, "gcnArchName", None)})
print(json.dumps(out))
