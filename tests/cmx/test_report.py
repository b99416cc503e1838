"""Console progress lines on a terminal."""

import io

from rich.console import Console

from cmx.report import ConsoleReporter


def test_a_long_path_is_printed_unbroken_on_an_80_column_terminal():
    reporter = ConsoleReporter()
    buf = io.StringIO()
    reporter.console = Console(file=buf, width=80, force_terminal=True, highlight=False, color_system=None)
    path = "/tmp/some/home/cache/store/08/" + "0836b991215258789530a55f8d1b620ac81bb1b13a209848bf0ad9755306dff1"
    reporter.summary(f"cmx: print-hello-world(_text) cached: {path}")
    assert path in buf.getvalue().replace("\x1b[0m", "")
    assert buf.getvalue().count("\n") == 1
