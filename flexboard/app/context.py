"""What every page needs: the board's data source (from the environment the launcher sets), the
loaded rows, and a guard that turns bad input into a message on the page (never a traceback)."""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, Callable

from flexboard.app import board
from flexboard.errors import FlexBoardError

ENV_DATASET_DIR = "CMX_FLEXBOARD_APP_DATASET_DIR"
ENV_DATA = "CMX_FLEXBOARD_APP_DATA"

_log = logging.getLogger("flexboard.app")


def source() -> board.Source:
    return board.Source(dataset_dir=os.environ.get(ENV_DATASET_DIR, ""), data_file=os.environ.get(ENV_DATA, ""))


class NoData(Exception):
    """The page cannot show anything: the message is already on the page."""


def rows():
    """The dataset's rows; on an empty or unreadable dataset, a message on the page and ``NoData``."""
    import streamlit as st

    src = source()
    df = board.load(src)
    if df is None or len(df) == 0:
        st.info(board.empty_message(src))
        raise NoData
    return df


def guarded(page: Callable[[], Any]) -> Callable[[], None]:
    """Run a page; bad input (``FlexBoardError``) and any other failure become one message on
    the page. The traceback of an unexpected failure goes to the server's log only."""

    @functools.wraps(page)
    def run() -> None:
        import streamlit as st

        try:
            page()
        except NoData:
            pass
        except FlexBoardError as exc:
            st.error(str(exc))
        except Exception as exc:  # noqa: BLE001 - a page never shows a traceback
            if type(exc).__module__.startswith("streamlit"):
                raise  # Streamlit's own control flow (rerun, stop)
            _log.exception("page %s failed", page.__name__)
            st.error(f"internal error on this page: {type(exc).__name__}: {exc}")

    return run
