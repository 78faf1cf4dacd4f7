"""``geoseg export``: a model bundle as one ONNX file for tools without geoseg (QGIS Deepness,
onnxruntime), or its bare network for quantisation (:mod:`geoseg.models.export`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from geoseg.cli.common import out, user_errors

EXAMPLES = """
Examples:

  geoseg export geoseg/models/default --format onnx -o landcover.onnx

  geoseg export geoseg/models/default -o landcover_pb04.onnx --offset -1000

  geoseg export build/my_bundle -o network.onnx --network-only
"""

FORMATS = ("onnx",)

BundleDir = Annotated[Path, typer.Argument(help="Model bundle folder.")]
Format = Annotated[str, typer.Option("--format", help="Output format: onnx.")]
Output = Annotated[Path, typer.Option("-o", "--output", help="File to write, e.g. model.onnx.")]
NetworkOnly = Annotated[
    bool,
    typer.Option(
        help="Write the bare network (normalised features in, logits out, any size) instead of "
        "the standalone model (raw L1C DN in, class probabilities out)."
    ),
]
DnOffset = Annotated[
    float,
    typer.Option(
        "--offset",
        help="Radiometric offset in DN of the products the model will read: 0 before processing "
        "baseline 04.00, -1000 from it on (products since 25 Jan 2022, Collection 1).",
    ),
]
Overwrite = Annotated[bool, typer.Option(help="Replace the output file if it exists.")]


def export(
    bundle: BundleDir,
    output: Output,
    fmt: Format = "onnx",
    network_only: NetworkOnly = False,
    offset: DnOffset = 0.0,
    overwrite: Overwrite = False,
) -> None:
    """Export a model bundle to ONNX: a standalone model that takes Sentinel-2 L1C digital numbers
    and gives class probabilities, with the metadata QGIS Deepness reads."""
    from geoseg.errors import OptionError
    from geoseg.models.bundle import load_bundle
    from geoseg.models.export import export_network, export_onnx

    with user_errors():
        if fmt.lower() not in FORMATS:
            raise OptionError(f"unknown format {fmt!r}", "--format", "use onnx")
        if not math.isfinite(offset) or abs(offset) >= 10000:
            raise OptionError(f"--offset {offset!r} is out of range", None, "use 0 or -1000")
        if network_only and offset:
            raise OptionError(
                "--offset applies to the standalone model", "--network-only", "drop one of them"
            )
        loaded = load_bundle(bundle)
        if network_only:
            path = export_network(loaded, output, overwrite=overwrite)
            what = f"network of {loaded.spec.name}: features ({', '.join(loaded.spec.channels)})"
            out.print(f"{path}: {what} → logits", highlight=False)
            return
        path = export_onnx(loaded, output, dn_offset=offset, overwrite=overwrite)
    size = loaded.spec.tile_size
    out.print(
        f"{path}: {loaded.spec.name}, input 'bands' (N, {len(loaded.read_bands)}, {size}, {size}) "
        f"L1C DN of {', '.join(loaded.read_bands)} (offset {offset:g}, 0 = no data) → class "
        f"probabilities of {', '.join(c.name for c in loaded.classes)}; QGIS Deepness metadata "
        f"set (10 m, tile {size} px)",
        highlight=False,
    )
