"""Pixel grids: the one place a raster's CRS, transform and size live, and how data is put on one.

Every output of a run is aligned to the scene's grid; coarser bands and masks are resampled onto it
window by window (``on_grid``), never whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from geoseg.errors import InputError


@dataclass(frozen=True)
class Grid:
    """Pixel grid of a raster: what every output of a run is aligned to."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def res(self) -> tuple[float, float]:
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        x0, y0 = self.transform * (0, 0)
        x1, y1 = self.transform * (self.width, self.height)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def same_as(self, other: Grid) -> bool:
        return (
            self.crs == other.crs
            and self.width == other.width
            and self.height == other.height
            and self.transform.almost_equals(other.transform, precision=1e-9)
        )


def on_grid(
    dataset: Any,
    grid: Grid,
    resampling: Resampling,
    nodata: float | None = None,
    src_nodata: float | None = None,
) -> Any:
    """``dataset`` itself when it already lies on ``grid``, else a WarpedVRT that resamples it
    onto ``grid`` window by window (never a full-raster resample). Close the VRT, not the source.

    ``src_nodata`` names the no-data value of sources that do not declare one (Sentinel-2 JPEG
    2000 bands: 0), so that the warper does not blend it into the pixels along nodata edges."""
    own = Grid(dataset.crs, dataset.transform, dataset.width, dataset.height)
    if own.same_as(grid):
        return dataset
    extra: dict[str, float] = {} if nodata is None else {"nodata": nodata}
    if src_nodata is not None and dataset.nodata is None:
        extra["src_nodata"] = src_nodata
        extra.setdefault("nodata", src_nodata)
    return WarpedVRT(
        dataset,
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=resampling,
        **extra,
    )


def probe(path: str, where: str | None = None) -> tuple[Grid, str]:
    """Grid and data type of a band file (GDAL path: local, /vsizip/, /vsicurl/…), checked to be
    georeferenced and readable at its first and last pixel, so that truncated files fail before
    any output is started. ``where`` names the file in errors (default: ``path``)."""
    where = where or path
    try:
        with rasterio.open(path) as ds:
            if ds.crs is None or ds.transform.is_identity:
                raise InputError(
                    "band raster is not georeferenced", where, "download the product again"
                )
            for row, col in ((0, 0), (ds.height - 1, ds.width - 1)):
                ds.read(1, window=Window(col, row, 1, 1))
            return Grid(ds.crs, ds.transform, ds.width, ds.height), ds.dtypes[0]
    except RasterioError as exc:
        raise InputError(
            "band raster is missing, truncated or unreadable",
            where,
            f"download the product again ({exc})",
        ) from exc


def finest(grids: Iterable[Grid]) -> Grid:
    """The grid with the smallest pixels: where every band of a product is resampled to."""
    return min(grids, key=lambda g: g.res[0])
