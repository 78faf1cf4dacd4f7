"""The ``geoseg`` command in rasterio's ``rio`` shape: the app (:mod:`.app`), one module per
command, shared option declarations (:mod:`.options`) and error/progress helpers (:mod:`.common`).
"""

from __future__ import annotations


def main() -> None:
    """The console script's entry point."""
    from geoseg.cli.app import app

    app()
