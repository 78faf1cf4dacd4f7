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


def open_raster(path: str | Path, masked: bool = True, keep_band: bool = False) -> xr.DataArray:
    """Any geoseg output raster; multi-band ones get band names (descriptions) as coordinate.

    A single band is squeezed away unless ``keep_band``: rasters of named layers (indices,
    probabilities) keep their ``band`` dimension whatever their count, so ``.sel(band="NDVI")``
    works with one index as with two."""
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
    if da.sizes["band"] == 1 and not keep_band:
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


def file_of(da: Any) -> tuple[Path, dict[str, tuple[str | None, int]] | None]:
    """The file a DataArray was read from as it is (``rioxarray.open_rasterio``), so
    ``classify`` reads it window by window like any scene, and its band names (a ``band``
    coordinate of names, in the file's order) as a band mapping (None: the file names them).

    An array computed, cut or reordered since has no file behind it: classifying it would mean
    holding the scene in memory and losing its provenance, so it is refused with what to do."""
    name = str(getattr(da, "name", None) or "the array")
    remedy = "write it with da.rio.to_raster('scene.tif') and classify that file"
    source = getattr(da, "encoding", {}).get("source")
    if not source or not Path(source).is_file() or "band" not in da.dims:
        raise InputError(
            "an xarray DataArray not read from a file (or computed since) cannot be classified",
            name,
            remedy,
        )
    with rasterio.open(source) as ds:
        same = (
            (da.sizes["y"], da.sizes["x"], da.sizes["band"]) == (ds.height, ds.width, ds.count)
            and da.rio.transform().almost_equals(ds.transform)
            and da.rio.crs == ds.crs
        )
    labels = [v.item() if hasattr(v, "item") else v for v in da["band"].values]
    if not same or not (
        labels == list(range(1, len(labels) + 1)) or all(isinstance(v, str) for v in labels)
    ):
        raise InputError(
            "an xarray DataArray cut, reordered or reprojected since it was read from "
            f"{source} cannot be classified as it is",
            name,
            f"classify the file itself, or {remedy}",
        )
    if all(isinstance(v, str) for v in labels):
        return Path(source), {str(v): (None, i) for i, v in enumerate(labels, start=1)}
    return Path(source), None
