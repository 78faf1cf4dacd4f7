"""``geoseg quantize``: build a bundle's int8 model and check its reduced precisions against fp32
(:mod:`geoseg.analysis.precision`), so ``--precision auto`` may use them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoseg.cli.common import out, print_precisions, user_errors

EXAMPLES = """
Examples:

  geoseg quantize build/my_bundle --calibrate-on ../shared/data/s2-dw/train \\
      --check-on ../shared/data/s2-dw/val
"""

BundleDir = Annotated[
    Path, typer.Argument(help="Model bundle folder (adds int8.onnx, rewrites bundle.json).")
]
Calibration = Annotated[
    list[Path],
    typer.Option(
        "--calibrate-on", help="Crop folder(s), or folders of them: activation ranges for int8."
    ),
]
Checks = Annotated[
    list[Path],
    typer.Option("--check-on", help="Labelled crop folder(s) to compare each precision on."),
]
LabelName = Annotated[str, typer.Option(help="Label raster inside each crop folder.")]
Tiles = Annotated[int, typer.Option(min=1, help="Calibration tiles drawn from the crops.")]


def quantize(
    bundle: BundleDir,
    calibrate_on: Calibration,
    check_on: Checks,
    label_name: LabelName = "label.tif",
    tiles: Tiles = 64,
) -> None:
    """Build the model's int8 version and check bf16 and int8 against fp32 on labelled crops;
    ``--precision auto`` then uses the fastest that agrees well enough."""
    from geoseg.analysis.precision import quantize_and_check
    from geoseg.models.bundle import load_bundle
    from geoseg.train.dataset import find_scenes

    with user_errors():
        loaded = load_bundle(bundle)
        calibration = [image for image, _ in find_scenes(calibrate_on, label_name)]
        checked = quantize_and_check(loaded, calibration, find_scenes(check_on, label_name), tiles)
    out.print(f"{bundle}: int8.onnx written; checks against fp32 in bundle.json")
    print_precisions(checked)
