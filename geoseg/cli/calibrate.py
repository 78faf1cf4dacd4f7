"""``geoseg calibrate``: fit a bundle's temperature on labelled crops
(:mod:`geoseg.train.calibration`), so its confidence raster means what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoseg.cli.common import out, user_errors

EXAMPLES = """
Examples:

  geoseg calibrate build/my_bundle --scenes ../shared/data/s2-dw/val
"""

BundleDir = Annotated[Path, typer.Argument(help="Model bundle folder (rewrites its bundle.json).")]
Scenes = Annotated[
    list[Path],
    typer.Option("--scenes", help="Crop folder(s), or folders of them, with label rasters."),
]
LabelName = Annotated[str, typer.Option(help="Label raster inside each crop folder.")]


def calibrate(bundle: BundleDir, scenes: Scenes, label_name: LabelName = "label.tif") -> None:
    """Fit the temperature of a model's logits on labelled crops and store it in the bundle."""
    from geoseg.train.calibration import calibrate_bundle

    with user_errors():
        cal = calibrate_bundle(bundle, scenes, label_name)
    out.print(f"{bundle}: {cal.describe()}", highlight=False)
