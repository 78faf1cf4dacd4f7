"""The ``geoseg`` command in rasterio's ``rio`` shape: the app (:mod:`.app`), one module per
command, shared option declarations (:mod:`.options`) and error/progress helpers (:mod:`.common`).
"""

from __future__ import annotations


def main() -> None:
    """The console script's entry point. Once the command is over (outputs in place, summary or
    error printed), Ctrl-C is ignored: the interpreter's exit takes seconds (unloading PyTorch),
    and a SIGINT then would kill the process silently with exit -2 instead of the command's code."""
    import signal

    from geoseg.cli.app import app
    from geoseg.cli.common import set_console

    set_console()
    try:
        app()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
