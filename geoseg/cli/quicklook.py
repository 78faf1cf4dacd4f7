"""``geoseg quicklook``: the PNG quick look of a finished run, drawn again from its outputs
(:func:`geoseg.run.quicklook.quicklook_of_run`), e.g. for runs made without ``--quicklook``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoseg.cli.common import err, out, user_errors

EXAMPLES = """
Examples:

  geoseg quicklook out/                       # out/<scene>_quicklook.png

  geoseg quicklook out/T32TQM_classes.tif --scene T32TQM.SAFE.zip -o look.png
"""

Target = Annotated[
    Path, typer.Argument(help="Output folder of one classify run, or its <scene>_classes.tif.")
]
SceneOption = Annotated[
    Path | None,
    typer.Option(
        "--scene",
        help="Scene for the true-colour panel (default: the one the run recorded, when it is "
        "still readable here; else the class map alone).",
    ),
]
Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="PNG to write (default: <scene>_quicklook.png beside)."),
]


def quicklook(target: Target, scene: SceneOption = None, output: Output = None) -> None:
    """Draw a run's quick look: true colour beside the class map, with a legend."""
    from geoseg.run.quicklook import quicklook_of_run

    with user_errors():
        png, drawn = quicklook_of_run(target, scene, output)
    if drawn is None:
        err.print("geoseg: no readable source scene: the class map alone", highlight=False)
    out.print(f"Wrote {png}", soft_wrap=True, highlight=False)
