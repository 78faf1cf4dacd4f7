"""From-to change between two class rasters on one grid: arrays in, codes and areas out.

A transition is coded ``from * n + to`` (``n`` classes), so an analyst reads both classes off the
value (``divmod(value, n)``) and the diagonal ``from * (n + 1)`` is "unchanged". The codes fit
uint8 up to 15 classes (nodata 255), else uint16 (nodata 65535). Areas are accumulated strip by
strip from pixel counts, so the matrix is exact whatever the polygons' minimum area.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np
import pandas as pd
from rasterio.windows import Window

from geoseg.classes import NODATA, ClassInfo
from geoseg.core.areas import HA_DECIMALS, Grid, pixel_area_m2, row_areas_m2

#: Colour of unchanged pixels in the change raster: light grey, so change stands out.
UNCHANGED_COLOR = "#d9d9d9"
#: Offset of the change codes in the polygon source raster: its nodata is NODATA (255), below it.
POLYGON_OFFSET = NODATA + 1


def code_type(n: int) -> tuple[str, int]:
    """Data type and nodata value of the change codes of ``n`` classes."""
    return ("uint8", NODATA) if n * n <= NODATA else ("uint16", 65535)


def encode(before: np.ndarray, after: np.ndarray, valid: np.ndarray, n: int) -> np.ndarray:
    """Change codes ``before * n + after`` where ``valid``, the nodata value elsewhere."""
    dtype, nodata = code_type(n)
    codes = before.astype(np.int64) * n + after.astype(np.int64)
    return np.where(valid, codes, nodata).astype(dtype)


def polygon_source(codes: np.ndarray, n: int) -> np.ndarray:
    """Changed pixels only, as ``POLYGON_OFFSET + code`` (uint16), unchanged and nodata as NODATA:
    the class raster :func:`geoseg.core.polygonize.polygonize` traces into change polygons."""
    _, nodata = code_type(n)
    c = codes.astype(np.int64)
    changed = (c != nodata) & (c // n != c % n)
    return np.where(changed, c + POLYGON_OFFSET, NODATA).astype(np.uint16)


def decode(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(from, to) class ids of polygon-source values."""
    return np.divmod(np.asarray(values, dtype=np.int64) - POLYGON_OFFSET, n)


class TransitionCounter:
    """Pixels and areas (m²) per (from, to) pair, fed strip by strip."""

    def __init__(self, grid: Grid, n: int) -> None:
        self.grid = grid
        self.n = n
        self.pixels = np.zeros((n, n), dtype=np.int64)
        self.area_m2 = np.zeros((n, n), dtype=np.float64)
        self._pixel_area = pixel_area_m2(grid)

    def add(self, window: Window, codes: np.ndarray) -> None:
        _, nodata = code_type(self.n)
        valid = codes != nodata
        flat = codes[valid].astype(np.int64)
        nn = self.n * self.n
        self.pixels += np.bincount(flat, minlength=nn).reshape(self.n, self.n)
        if self._pixel_area is None:  # geographic: each row its own pixel area
            rows = range(int(window.row_off), int(window.row_off + window.height))
            per_pixel = np.broadcast_to(row_areas_m2(self.grid, rows)[:, None], codes.shape)
            weights = per_pixel[valid]
            self.area_m2 += np.bincount(flat, weights=weights, minlength=nn).reshape(self.n, -1)

    def areas_m2(self) -> np.ndarray:
        if self._pixel_area is not None:
            return self.pixels * self._pixel_area
        return self.area_m2

    def matrix_ha(self, names: Sequence[str]) -> pd.DataFrame:
        """Rows: BEFORE classes, columns: AFTER classes, hectares over pixels valid in both
        (to the square metre: :data:`geoseg.core.areas.HA_DECIMALS`)."""
        ha = np.round(self.areas_m2() / 1e4, HA_DECIMALS)
        frame = pd.DataFrame(ha, index=list(names), columns=list(names))
        frame.index.name = "before"
        frame.columns.name = "after"
        return frame


def change_legend(classes: Sequence[ClassInfo]) -> list[ClassInfo]:
    """One entry per code: ``"trees → crops"`` in the AFTER class's colour, ``"trees (unchanged)"``
    in grey. Built unvalidated: ``ClassInfo`` names allow no arrow, but the writers only read
    ``id``, ``name`` and ``color``."""
    n = len(classes)
    out = []
    for f in classes:
        for t in classes:
            same = f.id == t.id
            out.append(
                ClassInfo.model_construct(
                    id=f.id * n + t.id,
                    name=f"{f.name} (unchanged)" if same else f"{f.name} → {t.name}",
                    color=UNCHANGED_COLOR if same else t.color,
                )
            )
    return out


def colormap(legend: Sequence[ClassInfo], nodata: int) -> dict[int, tuple[int, int, int, int]]:
    """Colour table of the change raster: nodata transparent."""
    cmap = {c.id: (*c.rgb, 255) for c in legend}
    cmap[nodata] = (0, 0, 0, 0)
    return cmap


def fallback_colors(n: int) -> list[str]:
    """Distinct colours for a legend that came without a colour table."""
    rgb = (colorsys.hsv_to_rgb(i / max(n, 1), 0.65, 0.85) for i in range(n))
    return ["#{:02x}{:02x}{:02x}".format(*(round(255 * v) for v in c)) for c in rgb]
