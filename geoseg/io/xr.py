"""geoseg rasters as xarray DataArrays (through rioxarray), for notebooks.

Arrays are lazy (dask-free: rioxarray reads on access), keep the CRS and transform, and carry the
class legend as CF attributes (``flag_values``/``flag_meanings``) plus ``class_names`` and
``class_colors``, so ``da.attrs`` is enough to label a plot or a table without the model bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rasterio
import rioxarray
import xarray as xr
from rasterio.errors import RasterioError

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.io.class_raster import read_legend


def open_raster(path: str | Path, masked: bool = True) -> xr.DataArray:
    """Any geoseg output raster; multi-band ones get band names (descriptions) as coordinate."""
    p = Path(path)
    if not p.is_file():
        raise InputError("raster not found", p, "check the path")
    try:
        da: Any = rioxarray.open_rasterio(p, masked=masked)
        with rasterio.open(p) as ds:
            descriptions = list(ds.descriptions)
    except RasterioError as exc:
        raise InputError("not a readable raster", p, str(exc)) from exc
    if all(descriptions):
        da = da.assign_coords(band=[str(d) for d in descriptions])
    if da.sizes["band"] == 1:
        da = da.squeeze("band", drop=True)
    da.name = p.stem
    return xr.DataArray(da)


def open_classes(path: str | Path) -> xr.DataArray:
    """A class raster (uint8, 255 = nodata kept as a value) with its legend in ``attrs``."""
    da = open_raster(path, masked=False)
    legend = read_legend(path)
    names, colors = legend.names, legend.colors
    da.attrs.update(
        {
            "flag_values": list(range(len(names))),
            "flag_meanings": " ".join(names),
            "class_names": names,
            "class_colors": colors,
            "nodata": NODATA,
        }
    )
    return da


def class_labels(da: xr.DataArray) -> xr.DataArray:
    """The class array as names (``None`` for nodata): handy for ``value_counts`` on a window."""
    import numpy as np

    names = np.array([*da.attrs.get("class_names", []), None], dtype=object)
    codes = da.values.astype(np.int64)
    codes[(codes < 0) | (codes >= len(names) - 1)] = len(names) - 1
    return da.copy(data=names[codes])
