"""``geoseg sample``: a stratified random sample of points to label, the map classes as strata
(:func:`geoseg.analysis.sampling.draw_sample`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geoseg.cli.common import out, user_errors
from geoseg.errors import InputError

EXAMPLES = """
Examples:

  geoseg sample out/scene_classes.tif -o points.gpkg -n 600 --min-per-class 50 --seed 1

  geoseg sample out/scene_classes.tif -o points.csv -n 300 --allocation equal

  geoseg sample out/scene_classes.tif -o points.gpkg -n 500 --per-class water=50,built=100
"""

Raster = Annotated[
    Path, typer.Argument(help="Class raster (<scene>_classes.tif; not a scene or confidence).")
]
Output = Annotated[Path, typer.Option("-o", "--output", help="Points .gpkg or .csv.")]
N = Annotated[int, typer.Option("-n", help="Total number of points (1 or more).")]
Allocation = Annotated[str, typer.Option(help="proportional (to mapped area) or equal.")]
MinPerClass = Annotated[int, typer.Option(help="At least this many points in every mapped class.")]
PerClass = Annotated[
    str, typer.Option(help="Fixed sizes for some classes, e.g. water=50,built=100.")
]
Seed = Annotated[int, typer.Option(help="Random seed (same seed, same points).")]


def sample(
    raster: Raster,
    output: Output,
    n: N = 500,
    allocation: Allocation = "proportional",
    min_per_class: MinPerClass = 0,
    per_class: PerClass = "",
    seed: Seed = 0,
) -> None:
    """Draw a stratified random sample of points (map classes as strata) to label."""
    from geoseg.analysis.sampling import draw_sample, write_points
    from geoseg.io.gpkg import check_gpkg_or_csv

    with user_errors():
        check_gpkg_or_csv(output, "sample")  # before the raster is read twice
        points = draw_sample(raster, n, allocation, min_per_class, _per_class(per_class), seed)
        path = write_points(points, output)
    table = Table(title=f"{len(points)} points")
    table.add_column("map class")
    table.add_column("points", justify="right")
    for name, count in points["map_class"].value_counts(sort=False).items():
        table.add_row(str(name), str(count))
    out.print(table)
    out.print(f"Label the reference_class column, then run geoseg area-estimate: {path}")


def _per_class(text: str) -> dict[str, int]:
    """``water=50,built=100`` → fixed sample sizes by class name."""
    sizes: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, size = item.partition("=")
        if not sep or not size.strip().isdigit():
            raise InputError(
                f"cannot parse per-class size {item!r}", "--per-class", "write e.g. water=50"
            )
        sizes[name.strip()] = int(size)
    return sizes
