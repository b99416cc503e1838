"""``python -m cmx``: the same as the ``cmx`` command."""

from cmx.cli.main import run

if __name__ == "__main__":
    run()
