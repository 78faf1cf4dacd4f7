"""``geoseg change``: what became what between two dates (:func:`geoseg.analysis.change.change`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geoseg.cli.common import out, user_errors

EXAMPLES = """
Examples:

  geoseg change out_2017/ out_2021/ -o change/

  geoseg change label_2015.tif label_2017.tif -o change/ --min-area 0.5
"""

Map = Annotated[
    Path,
    typer.Argument(help="Class raster (*_classes.tif, Dynamic World label.tif) or its folder."),
]
Output = Annotated[Path, typer.Option("-o", "--output", help="Output folder.")]
MinArea = Annotated[
    float, typer.Option(help="Drop change polygons under this area (ha); raster and matrix exact.")
]


def change(before: Map, after: Map, output: Output, min_area: MinArea = 0.0) -> None:
    """From-to change between two class maps of one place: change_classes.tif (value
    = before_id * n + after_id, named and coloured), change_matrix.csv/.json
    (hectares, rows before, columns after) and change.gpkg (changed regions)."""
    from geoseg.analysis.change import change as run_change

    with user_errors():
        result = run_change(before, after, output, min_area_ha=min_area)
    m = result.matrix
    table = Table(title="largest changes (ha)")
    for col in ("before", "after", "ha"):
        table.add_column(col, justify="right" if col == "ha" else "left")
    pairs = [(str(f), str(t), float(m.loc[f, t])) for f in m.index for t in m.columns if f != t]
    for f, t, ha in sorted(pairs, key=lambda p: -p[2])[:10]:
        if ha > 0:
            table.add_row(f, t, f"{ha:,.2f}")
    out.print(table)
    out.print(
        f"changed {result.changed_ha:,.2f} ha, unchanged {result.unchanged_ha:,.2f} ha, "
        f"{result.polygon_count} change polygons: {result.classes.parent}",
        highlight=False,
    )
