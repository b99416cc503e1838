"""run-flexboard: check the flags before the server starts (one-line errors), then run.sh serves."""

from pathlib import Path

from flexboard.errors import FlexBoardError
from flexboard.recipes import value
from openmlperf.recipes import guarded


@guarded
def preprocess(i):
    env = i["env"]
    raw = value(env, "CMX_FLEXBOARD_PORT") or "8501"
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise FlexBoardError(f"--port={raw}: expected 1-65535")
    data = value(env, "CMX_FLEXBOARD_DATA")
    if data and not Path(data).expanduser().is_file():
        raise FlexBoardError(f"--data={data}: no such file")
    return {"return": 0}
