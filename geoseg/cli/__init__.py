"""The ``geoseg`` command: one module per command, shared options and error handling."""

from __future__ import annotations


def main() -> None:
    from geoseg.cli.main import main as run

    run()
