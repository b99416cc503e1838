"""Print the Python version and the installed versions of the distributions named on the command line, as JSON.

Run by get-system-description in the target interpreter. importlib.metadata reads
the installed metadata only, so no framework is imported (and none is slow to load).
"""

import json
import platform
import sys
from importlib import metadata

packages = {}
for name in sys.argv[1:]:
    try:
        packages[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
print(json.dumps({"python": platform.python_version(), "implementation": platform.python_implementation(),
                  "executable": sys.executable, "packages": packages}))
