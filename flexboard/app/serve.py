"""Start FlexBoard: ``python -m flexboard.app.serve --port=8501 [--host=127.0.0.1]
[--dataset_dir=DIR | --data=FILE.parquet]`` (the ``run,flexboard`` recipe calls it).

Binds 127.0.0.1 unless told otherwise, prints the URL, and runs Streamlit in this process until
SIGINT or SIGTERM, then exits 0. Offline: Streamlit's usage statistics are off, the file watcher
too, and Hugging Face lookups use the local cache only. Bad flags exit 2 with one line.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from flexboard.app import context

MAIN = Path(__file__).resolve().parent / "main.py"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too)
        print(f"flexboard: {message}", file=sys.stderr)
        raise SystemExit(2)


def parse(argv: list[str] | None):
    ap = _Parser(prog="flexboard", description="FlexBoard: the Open MLPerf Dataset and the predictor in the browser")
    ap.add_argument("--port", type=int, default=8501)
    ap.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--dataset_dir", default="", help="the dataset folder (default: the one of the cmx home)")
    ap.add_argument("--data", default="", help="a Parquet or JSON file with the dataset's columns instead")
    a = ap.parse_args(argv)
    if not 0 < a.port < 65536:
        ap.error(f"--port={a.port}: expected 1-65535")
    if a.data and not Path(a.data).expanduser().is_file():
        ap.error(f"--data={a.data}: no such file")
    return a


def port_free(host: str, port: int) -> bool:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def flag_options(host: str, port: int) -> dict[str, object]:
    return {
        "server.address": host,
        "server.port": port,
        "server.headless": True,               # no browser opened, no e-mail prompt
        "server.fileWatcherType": "none",      # no reload on change, no watchdog threads
        "server.runOnSave": False,
        "browser.gatherUsageStats": False,     # no telemetry: no network call from the page
        "browser.serverAddress": host,
        "global.developmentMode": False,
        "logger.hideWelcomeMessage": True,     # we print our own one line
        "client.toolbarMode": "viewer",
        "client.showErrorDetails": "none",     # a failure never shows a traceback in the page
        "theme.base": "light",
        "logger.level": "warning",             # no info lines of Streamlit's server
    }


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    host = a.host
    if not port_free(host, a.port):
        print(f"flexboard: {host}:{a.port} is in use (another FlexBoard?); give --port=N", file=sys.stderr)
        return 2
    os.environ[context.ENV_DATASET_DIR] = str(Path(a.dataset_dir).expanduser().resolve()) if a.dataset_dir else ""
    os.environ[context.ENV_DATA] = str(Path(a.data).expanduser().resolve()) if a.data else ""
    os.environ["HF_HUB_OFFLINE"] = "1"  # a hub id resolves from the local cache only
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")

    from flexboard.app import board
    from flexboard.errors import FlexBoardError

    src = context.source()
    try:  # load now (and build the explore table), so the first page view does not wait for it
        df = board.load(src)
        n = len(df)
        if n:
            board.explore_arrow(df, df)
    except FlexBoardError as exc:
        print(f"flexboard: {exc}", file=sys.stderr)
        return 2
    from streamlit import config as st_config
    from streamlit.web import bootstrap

    opts = flag_options(host, a.port)
    st_config._main_script_path = str(MAIN)
    bootstrap.load_config_options(flag_options=opts)
    shown = f"[{host}]" if ":" in host else host
    print(f"FlexBoard: http://{shown}:{a.port}/ ({n:,} rows from {src.describe()}; Ctrl-C stops it)", flush=True)
    bootstrap.run(str(MAIN), False, [], opts)
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
