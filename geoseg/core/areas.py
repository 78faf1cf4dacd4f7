"""Area statistics that agree exactly with the class raster.

Pixel areas come from the grid: constant in a projected CRS (in metres, whatever its linear unit),
per row on the ellipsoid in a geographic CRS. Counts are accumulated from each chunk's core as it is
written, so the table needs no second pass over the raster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pyproj import CRS as ProjCRS
from rasterio.windows import Window

from geoseg.classes import ClassInfo

#: Decimals of what tables report (README, "Precision"): areas in hectares to the square metre,
#: in square metres to 0.01 m², shares and percentages to 0.01 %, spectral-index statistics to
#: 1e-4 (float32 pixels hold ~7 digits; nobody reads NDVI finer). Pixel counts are integers.
#: Rounding here, once, keeps float noise (99.99999999999248 %) out of CSV, JSON and GeoPackage.
HA_DECIMALS = 4
M2_DECIMALS = 2
PCT_DECIMALS = 2
INDEX_DECIMALS = 4


class Grid(Protocol):
    """What area sums need of a pixel grid (``geoseg.io.grid.Grid`` is one): core code takes
    any object with these attributes and imports nothing from the io layer."""

    @property
    def crs(self) -> Any: ...
    @property
    def transform(self) -> Any: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


def pixel_area_m2(grid: Grid) -> float | None:
    """Area of one pixel in m² for projected grids; None for geographic ones (varies by row)."""
    crs = ProjCRS.from_user_input(grid.crs.to_wkt())
    if crs.is_geographic:
        return None
    t = grid.transform
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return abs(t.a * t.e - t.b * t.d) * unit * unit


def row_areas_m2(grid: Grid, rows: range) -> np.ndarray:
    """Geodesic area (m²) of one pixel on each of ``rows`` (north-up geographic grids)."""
    area = pixel_area_m2(grid)
    if area is not None:
        return np.full(len(rows), area)
    geod = ProjCRS.from_user_input(grid.crs.to_wkt()).get_geod()
    assert geod is not None
    t = grid.transform
    x0, x1 = t.c, t.c + t.a
    out = np.empty(len(rows))
    for k, r in enumerate(rows):
        y0, y1 = t.f + r * t.e, t.f + (r + 1) * t.e
        a, _ = geod.polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
        out[k] = abs(a)
    return out


class AreaAccumulator:
    """Per-class pixel counts and areas, fed window by window."""

    def __init__(self, grid: Grid, n_classes: int) -> None:
        self.grid = grid
        self.n_classes = n_classes
        self.pixels = np.zeros(n_classes, dtype=np.int64)
        self.area_m2 = np.zeros(n_classes, dtype=np.float64)
        self._pixel_area = pixel_area_m2(grid)

    def add(self, window: Window, classes: np.ndarray) -> None:
        valid = classes < self.n_classes
        counts = np.bincount(classes[valid].ravel(), minlength=self.n_classes)
        self.pixels += counts
        if self._pixel_area is None:
            rows = range(int(window.row_off), int(window.row_off + window.height))
            per_pixel = np.broadcast_to(row_areas_m2(self.grid, rows)[:, None], classes.shape)
            self.area_m2 += np.bincount(
                classes[valid].ravel(), weights=per_pixel[valid].ravel(), minlength=self.n_classes
            )

    @property
    def valid_pixels(self) -> int:
        return int(self.pixels.sum())

    def table(
        self, classes: Sequence[ClassInfo], polygons: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """One row per class: pixels, area (m², ha), share of valid pixels (%), polygon count."""
        area = self.pixels * self._pixel_area if self._pixel_area is not None else self.area_m2
        total = max(self.valid_pixels, 1)
        df = pd.DataFrame(
            {
                "class_id": [c.id for c in classes],
                "class_name": [c.name for c in classes],
                "color": [c.color for c in classes],
                "pixels": self.pixels,
                "area_m2": np.round(area, M2_DECIMALS),
                "area_ha": np.round(area / 1e4, HA_DECIMALS),
                "share_pct": np.round(self.pixels * 100.0 / total, PCT_DECIMALS),
            }
        )
        if polygons is not None:
            df["polygons"] = np.asarray(polygons, dtype=np.int64)
        return df


def polygon_measures(geometry: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Area (m²) and perimeter (m) of polygons in the grid's CRS: planar when projected (scaled
    to metres), geodesic on the CRS's ellipsoid when geographic."""
    import shapely

    crs = ProjCRS.from_user_input(grid.crs.to_wkt())
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return shapely.area(geometry) * unit * unit, shapely.length(geometry) * unit
    geod = crs.get_geod()
    assert geod is not None
    measures = np.array([geod.geometry_area_perimeter(g) for g in geometry]).reshape(-1, 2)
    return np.abs(measures[:, 0]), measures[:, 1]
