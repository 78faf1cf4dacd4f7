"""``geoseg info``: what a scene or a model bundle holds, as the library reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geoseg.cli.common import out, user_errors

Source = Annotated[
    str,
    typer.Argument(
        help="A scene (GeoTIFF, band folder, .SAFE, .zip, STAC item) or a model bundle."
    ),
]


def info(source: Source) -> None:
    """Describe a scene (kind, product, grid, bands, scaling, masks) or a model bundle."""
    from geoseg.models.bundle import SPEC_FILE

    path = Path(source)
    with user_errors():
        if "://" not in source and ((path / SPEC_FILE).is_file() or path.name == SPEC_FILE):
            _describe_bundle(path)
        else:
            _describe_scene(source)


def _describe_bundle(path: Path) -> None:
    from geoseg.models.bundle import load_bundle

    bundle = load_bundle(path)
    spec = bundle.spec
    out.print(f"[bold]Model bundle[/bold] {bundle.path}")
    out.print(f"  name:         {spec.name}")
    out.print(f"  architecture: {spec.model.architecture} / {spec.model.encoder}")
    out.print(f"  inputs:       {', '.join(spec.channels)}")
    out.print(f"  tile/overlap: {spec.tile_size}/{spec.overlap}")
    out.print(f"  weights:      sha256 {bundle.sha256}")
    out.print("  classes:      " + ", ".join(f"{c.id} {c.name}" for c in spec.classes))
    out.print(f"  levels:       {', '.join(spec.processing_levels)} (Sentinel-2 processing)")
    if spec.temperature != 1.0:
        out.print(f"  temperature:  {spec.temperature:g} (calibrated confidence)")
    for key, value in {**spec.provenance, **spec.metrics}.items():
        out.print(f"  {key}: {value}")
    if spec.known_limits:
        out.print("[bold]Known limits[/bold]")
        for limit in spec.known_limits:
            out.print(f"  - {limit}", highlight=False)


def _describe_scene(source: str) -> None:
    from geoseg.io.reader import open_scene

    scene = open_scene(source)
    g = scene.grid
    out.print(f"[bold]Scene[/bold] {scene.source}", soft_wrap=True, highlight=False)
    out.print(f"  kind:  {scene.kind}")
    for key, value in scene.provenance.items():
        label = key.removeprefix("S2_").lower().replace("_", " ") + ":"
        out.print(f"  {label:<22}{value}", soft_wrap=True, highlight=False)
    out.print(f"  grid:  {g.width} x {g.height} px, {g.res[0]:g} x {g.res[1]:g}, {g.crs}")
    b = g.transform * (0, 0), g.transform * (g.width, g.height)
    out.print(f"  bounds: {b[0][0]:.6g}, {b[1][1]:.6g}, {b[1][0]:.6g}, {b[0][1]:.6g}")
    table = Table(title="Bands")
    for col in ("band", "file", "index", "scale", "offset", "nodata"):
        table.add_column(col)
    for s in scene.bands.values():
        table.add_row(
            s.name, Path(s.path).name, str(s.index), f"{s.scale:g}", f"{s.offset:g}", str(s.nodata)
        )
    out.print(table)
    if scene.masks:
        for m in scene.masks:
            out.print(f"  mask:  {m.describe()} from {Path(m.path).name}", highlight=False)
    else:
        out.print("  mask:  none (no SCL band; use --mask FILE to mask pixels)")
