"""Training labels on the image grid, from a raster or from polygons.

A label raster is aligned onto the image grid with nearest resampling when its grid differs; a
vector file (GeoPackage/GeoJSON polygons with a class column of ids or names) is rasterised onto
it. Anything unlabelled, or not a known class, becomes :data:`~geoseg.classes.NODATA`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.features import rasterize

from geoseg.classes import NODATA, ClassInfo
from geoseg.errors import InputError
from geoseg.io.grid import Grid, on_grid

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
#: No-data value of teacher probability rasters (uint8, round(p × 255) per class)
SOFT_NODATA = 255


def read_label(
    label: Path, grid: Grid, classes: Sequence[ClassInfo], column: str = "class"
) -> np.ndarray:
    """Label ids ``(h, w)`` uint8 on ``grid``; NODATA where unlabelled or not a known class."""
    if label.suffix.lower() in VECTOR_SUFFIXES:
        return _rasterise(label, grid, classes, column)
    try:
        with rasterio.open(label) as ds:
            src = on_grid(ds, grid, Resampling.nearest)
            raw = src.read(1, masked=True)
            if src is not ds:
                src.close()
    except RasterioError as exc:
        raise InputError("cannot read label raster", label, str(exc)) from exc
    values = np.ma.filled(raw.astype(np.int64), NODATA)
    out = np.full(values.shape, NODATA, dtype=np.uint8)
    known = (values >= 0) & (values < len(classes))
    out[known] = values[known]
    return out


def read_soft(path: Path, grid: Grid, n_classes: int) -> np.ndarray:
    """A teacher's class probabilities ``(n_classes, h, w)`` uint8 (round(p × 255)) on ``grid``,
    resampled bilinearly (Dynamic World's are at 20 m); 255 in every band where it has none."""
    if not path.is_file():
        raise InputError(
            "no teacher probabilities beside this label", path, "add them, or turn distill off"
        )
    try:
        with rasterio.open(path) as ds:
            if ds.count != n_classes:
                raise InputError(
                    f"teacher probabilities have {ds.count} bands for {n_classes} classes",
                    path,
                    "give one band per class, in class order",
                )
            src = on_grid(ds, grid, Resampling.bilinear, nodata=SOFT_NODATA)
            raw = src.read(masked=True)
            if src is not ds:
                src.close()
    except RasterioError as exc:
        raise InputError("cannot read teacher probabilities", path, str(exc)) from exc
    out = np.ma.filled(raw, SOFT_NODATA).astype(np.uint8)
    out[:, np.ma.getmaskarray(raw).any(axis=0)] = SOFT_NODATA
    return out


def _rasterise(label: Path, grid: Grid, classes: Sequence[ClassInfo], column: str) -> np.ndarray:
    try:
        frame = gpd.read_file(label)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError("cannot read vector labels", label, str(exc)) from exc
    if column not in frame.columns:
        raise InputError(
            f"vector labels have no column {column!r} (columns: {', '.join(frame.columns)})",
            label,
            "set label_column to the column holding class ids or names",
        )
    if frame.crs is None:
        raise InputError("vector labels have no CRS", label, "save them with a CRS")
    frame = frame.to_crs(grid.crs)
    by_name = {c.name: c.id for c in classes}
    shapes = []
    for geom, value in zip(frame.geometry, frame[column], strict=True):
        cid = by_name.get(value) if isinstance(value, str) else value
        if geom is None or cid is None or not 0 <= int(cid) < len(classes):
            continue
        shapes.append((geom, int(cid)))
    if not shapes:
        return np.full((grid.height, grid.width), NODATA, dtype=np.uint8)
    return rasterize(
        shapes,
        out_shape=(grid.height, grid.width),
        transform=grid.transform,
        fill=NODATA,
        dtype="uint8",
    )
