"""run-flexboard: check the flags before the server starts (one-line errors, exit 2), then run.sh serves."""

from pathlib import Path

from flexboard.errors import FlexBoardError
from flexboard.recipes import _settings, guarded, value


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
    _settings(env)  # the predict and recommend pages' predictor settings: a bad one is named now, not on a page
    from flexboard.app.serve import port_free

    host = value(env, "CMX_FLEXBOARD_HOST") or "127.0.0.1"
    if not port_free(host, port):
        raise FlexBoardError(f"{host}:{port} is in use (another FlexBoard?); give --port=N")
    return {"return": 0}
