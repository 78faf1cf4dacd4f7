"""``geoseg zonal``: per field and date, class shares and index statistics
(:func:`geoseg.analysis.zonal.zonal_stats`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from geoseg.cli.common import err, names, out, pick, user_errors
from geoseg.cli.options import Bands, Nodata, Offset, Scale

EXAMPLES = """
Examples:

  geoseg zonal fields.gpkg out/s2_20210501_classes.tif out/s2_20210501_indices.tif -o fields.gpkg

  geoseg zonal fields.gpkg scene_may.tif scene_june.tif -o ndvi.csv --indices NDVI

  geoseg zonal fields.gpkg a.tif b.tif --date 2021-05-01 --date 2021-06-01 -o s.csv --id-field name
"""

Fields = Annotated[Path, typer.Argument(help="Field polygons (GeoPackage, GeoJSON...).")]
Rasters = Annotated[
    list[Path],
    typer.Argument(
        help="Class rasters (any single-band integer raster: geoseg, Dynamic World...), "
        "index rasters (--indices) or scenes, any dates."
    ),
]
Output = Annotated[Path, typer.Option("-o", "--output", help="Output .gpkg or .csv.")]
Dates = Annotated[
    list[str] | None,
    typer.Option(help="Date of each raster, in order (default: metadata, file or folder name)."),
]
Indices = Annotated[str, typer.Option(help="Indices computed from scenes, e.g. NDVI,NDWI.")]
IdField = Annotated[str | None, typer.Option(help="Field id column (default: row number).")]
Layer = Annotated[str | None, typer.Option(help="Layer of the fields file.")]


def zonal(
    fields: Fields,
    rasters: Rasters,
    output: Output,
    date: Dates = None,
    indices: Indices = "NDVI,NDWI",
    id_field: IdField = None,
    layer: Layer = None,
    bands: Bands = None,
    nodata: Nodata = None,
    offset: Offset = None,
    scale: Scale = None,
) -> None:
    """Per field and date: class shares and index statistics (mean, median, p10, p90).

    mapped_pct and <INDEX>_valid_pct: the share of each field with valid pixels.
    A warning names the fields a raster has none for; fields that miss every
    raster are an error (check their CRS and extent). --bands, --nodata,
    --offset and --scale apply to the scenes among the rasters."""
    values = dict(locals())
    from geoseg.analysis.zonal import CoverageWarning, read_fields, write_zonal, zonal_stats
    from geoseg.dates import DateWarning
    from geoseg.io.gpkg import check_gpkg_or_csv
    from geoseg.io.read_options import ReadOptions

    with user_errors():
        read = ReadOptions.build(pick(values, ReadOptions))
        check_gpkg_or_csv(output, "zonal statistics")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CoverageWarning)
            warnings.simplefilter("always", DateWarning)
            table = zonal_stats(
                read_fields(fields, layer),
                rasters,
                dates=date or None,
                indices=names(indices),
                id_field=id_field,
                **read.kwargs(),
            )
        path = write_zonal(table, output)
    for w in caught:  # ours on stderr, one line each like errors; others as Python shows them
        if issubclass(w.category, CoverageWarning | DateWarning):
            err.print(f"geoseg: warning: {w.message}", highlight=False, soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    n_dates = table["date"].nunique(dropna=False)
    out.print(
        f"{table.shape[0]} rows ({len(table) // max(n_dates, 1)} fields x {n_dates} date(s)), "
        f"{table.shape[1] - 1} columns: {path}",
        highlight=False,
    )
