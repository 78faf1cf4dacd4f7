"""Field statistics: per polygon and date, class shares and spectral-index statistics.

Each raster given is one of three kinds, told apart by its metadata: a class raster written by
``geoseg classify`` (``GEOSEG_CLASSES`` tag) gives class shares; an index raster (``classify
--indices``: float bands described ``NDVI``, ``NDWI``…) gives index statistics; anything else is a
scene, whose indices are computed with :mod:`geoseg.indices` strip by strip over the fields' extent
into a temporary raster. Statistics come from ``exactextract``, which weights each pixel by the
share of it the polygon covers (so small fields are not rounded to whole pixels); quantiles are
the usual linear interpolation (numpy's default) on those weights. Rows are one per field and
date; rasters of the same date (e.g. a run's classes and its indices) fill the same row.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from datetime import date as Date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window, from_bounds

from geoseg import indices as idx
from geoseg.classes import LEGEND_TAG
from geoseg.dates import parse_date, raster_date
from geoseg.errors import InputError
from geoseg.io import gpkg
from geoseg.io.read_options import ReadOptions
from geoseg.tiling import STRIP_PIXELS

#: (statistic in the output, exactextract operation, exactextract's column name); ``pixels`` is
#: the coverage-weighted count of valid pixels
INDEX_STATS = (
    ("mean", "mean", "mean"),
    ("median", "median", "median"),
    ("p10", "quantile(q=0.1)", "quantile_10"),
    ("p90", "quantile(q=0.9)", "quantile_90"),
    ("pixels", "count", "count"),
)
ZONAL_LAYER = "zonal_stats"


def read_fields(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Polygons from any vector file GDAL reads; the CRS is required."""
    p = Path(path)
    if not p.exists():
        raise InputError("fields file not found", p, "give a GeoPackage/GeoJSON of polygons")
    try:
        fields = gpd.read_file(p, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError("cannot read the fields", p, f"give a polygon layer ({exc})") from exc
    return check_fields(fields, p)


def check_fields(fields: gpd.GeoDataFrame, where: str | Path = "fields") -> gpd.GeoDataFrame:
    if not isinstance(fields, gpd.GeoDataFrame) or fields.geometry is None or len(fields) == 0:
        raise InputError("no fields to summarise", where, "give at least one polygon")
    if fields.crs is None:
        raise InputError("fields have no CRS", where, "set one (e.g. in QGIS, or to_crs)")
    kinds = set(fields.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"fields must be polygons (found {', '.join(sorted(kinds)) or 'no geometry'})",
            where,
            "give field boundaries as polygons",
        )
    return fields


def raster_kind(path: str | Path) -> str:
    """``classes``, ``indices`` or ``scene``."""
    p = Path(path)
    if not p.exists():
        raise InputError("raster not found", p, "check the path")
    if p.is_dir():
        return "scene"
    try:
        with rasterio.open(p) as ds:
            tags, descriptions, dtype = ds.tags(), ds.descriptions, ds.dtypes[0]
    except RasterioError as exc:
        raise InputError("not a readable raster", p, str(exc)) from exc
    if (  # before the class tag: classify writes its provenance tags on index rasters too
        np.issubdtype(np.dtype(dtype), np.floating)
        and all(descriptions)
        and all(str(d).upper() in idx.REGISTRY for d in descriptions)
    ):
        return "indices"
    if LEGEND_TAG in tags:
        return "classes"
    return "scene"


def zonal_stats(
    fields: gpd.GeoDataFrame | str | Path,
    rasters: Sequence[str | Path],
    dates: Sequence[str | Date | None] | None = None,
    indices: Sequence[str] = ("NDVI", "NDWI"),
    id_field: str | None = None,
    read: ReadOptions | None = None,
    **read_options: Any,
) -> gpd.GeoDataFrame:
    """One row per field and date: ``share_<class>`` (% of the field's mapped area),
    ``majority_class``, and ``<INDEX>_mean|median|p10|p90|pixels`` per index.

    ``dates`` (one per raster) override the dates found in metadata or names; ``read`` (or the
    same options as keywords: ``bands``, ``nodata``, ``offset``, ``scale``…) says how
    :func:`geoseg.open_scene` reads scenes.
    """
    read = ReadOptions.build(read, **read_options)
    frame = read_fields(fields) if not isinstance(fields, gpd.GeoDataFrame) else fields
    frame = check_fields(frame)
    if not rasters:
        raise InputError("no rasters given", None, "give class, index or scene rasters")
    if dates is not None and len(dates) != len(rasters):
        raise InputError(
            f"{len(dates)} date(s) for {len(rasters)} raster(s)", "--date", "give one per raster"
        )
    names = [idx.get(n).name for n in indices]
    if id_field is not None and id_field not in frame.columns:
        raise InputError(
            f"fields have no column {id_field!r}",
            "--id-field",
            f"use one of {', '.join(map(str, frame.columns.drop('geometry')))}",
        )
    key = id_field or "field_id"
    ids = frame[id_field] if id_field else pd.Series(np.arange(1, len(frame) + 1), name=key)
    if ids.duplicated().any():
        raise InputError(
            f"field ids in {key!r} are not unique", "--id-field", "use a unique column"
        )
    by_date: dict[Date | None, pd.DataFrame] = {}
    for k, raster in enumerate(rasters):
        given = dates[k] if dates is not None else None
        when = _as_date(given) if given is not None else raster_date(raster)
        part = _stats_of(frame, Path(raster), names, read)
        row = by_date.get(when)
        if row is not None:
            clash = set(row.columns) & set(part.columns)
            if clash:
                raise InputError(
                    f"two rasters give {sorted(clash)[0]} for date {when or 'unknown'}",
                    raster,
                    "give each raster its own date with --date",
                )
            part = pd.concat([row, part], axis=1)
        by_date[when] = part
    rows = []
    for when, part in sorted(by_date.items(), key=lambda kv: (kv[0] is None, kv[0] or Date.min)):
        block = pd.DataFrame({key: ids.to_numpy()})
        block["date"] = pd.Timestamp(when) if when else pd.NaT
        rows.append(pd.concat([block, part.reset_index(drop=True)], axis=1))
    table = pd.concat(rows, ignore_index=True)
    geometry = np.tile(frame.geometry.to_numpy(), len(by_date))
    return gpd.GeoDataFrame(table, geometry=list(geometry), crs=frame.crs)


def _as_date(value: str | Date) -> Date:
    if isinstance(value, Date):
        return value
    d = parse_date(str(value))
    if d is None:
        raise InputError(f"cannot read date {value!r}", "--date", "write YYYY-MM-DD")
    return d


def _stats_of(
    fields: gpd.GeoDataFrame, raster: Path, names: Sequence[str], read: ReadOptions
) -> pd.DataFrame:
    kind = raster_kind(raster)
    if kind == "classes":
        return _class_shares(fields, raster)
    if kind == "indices":
        return _index_stats(fields, raster, None)
    with tempfile.TemporaryDirectory(prefix="geoseg-zonal-") as tmp:
        computed = _scene_indices(fields, raster, names, Path(tmp) / "indices.tif", read)
        return _index_stats(fields, computed, names)


def _in_crs(fields: gpd.GeoDataFrame, ds: Any) -> gpd.GeoDataFrame:
    if ds.crs is None:
        raise InputError("raster has no CRS", ds.name, "georeference it")
    out = fields[[fields.geometry.name]].to_crs(ds.crs.to_wkt())
    out["__row"] = np.arange(len(out))
    return out


def _extract(ds: Any, fields: gpd.GeoDataFrame, ops: list[str]) -> pd.DataFrame:
    from exactextract import exact_extract

    try:
        res = exact_extract(ds, fields, ops, include_cols=["__row"], output="pandas")
    except (RuntimeError, ValueError) as exc:
        raise InputError("cannot compute zonal statistics", ds.name, str(exc)) from exc
    return pd.DataFrame(res).sort_values("__row").set_index("__row")


def _class_shares(fields: gpd.GeoDataFrame, raster: Path) -> pd.DataFrame:
    from geoseg.io.class_raster import class_names

    names = class_names(raster) or []
    with rasterio.open(raster) as ds:
        res = _extract(ds, _in_crs(fields, ds), ["unique", "frac", "majority"])
    shares = np.zeros((len(res), len(names)))
    for k, (values, fracs) in enumerate(zip(res["unique"], res["frac"], strict=True)):
        if len(values) == 0:
            shares[k] = np.nan  # no mapped pixel under the field: shares are unknown, not 0
        for v, f in zip(values, fracs, strict=True):
            if 0 <= int(v) < len(names):
                shares[k, int(v)] += 100.0 * float(f)
    out = pd.DataFrame(shares, columns=[f"share_{n}" for n in names])
    majority = res["majority"].to_numpy()
    out["majority_class"] = [
        names[int(m)] if np.isfinite(m) and 0 <= int(m) < len(names) else None for m in majority
    ]
    return out


def _index_stats(
    fields: gpd.GeoDataFrame, raster: Path, names: Sequence[str] | None
) -> pd.DataFrame:
    with rasterio.open(raster) as ds:
        bands = list(names or [str(d).upper() for d in ds.descriptions])
        res = _extract(ds, _in_crs(fields, ds), [op for _, op, _ in INDEX_STATS])
    stat_of = {column: stat for stat, _, column in INDEX_STATS}
    out = pd.DataFrame(index=range(len(res)))
    for column in res.columns:
        m = re.fullmatch(r"(?:band_(\d+)_)?(.+)", str(column))
        if m and m[2] in stat_of:
            band = bands[int(m[1]) - 1] if m[1] else bands[0]
            out[f"{band}_{stat_of[m[2]]}"] = res[column].to_numpy(dtype=np.float64)
    order = [f"{b}_{stat}" for b in bands for stat, _, _ in INDEX_STATS]
    return out[[c for c in order if c in out.columns]]


def _scene_indices(
    fields: gpd.GeoDataFrame,
    scene_path: Path,
    names: Sequence[str],
    dest: Path,
    read: ReadOptions,
) -> Path:
    """Index raster (NaN = nodata) of the scene over the fields' extent, strip by strip."""
    from geoseg.io.reader import open_scene

    scene = open_scene(scene_path, **read.kwargs())
    bands = idx.required_bands(names)
    scene.require(bands)
    grid = scene.grid
    bounds = fields.to_crs(grid.crs.to_wkt()).total_bounds
    win = from_bounds(*bounds, transform=grid.transform).round_offsets().round_lengths()
    full = Window(0, 0, grid.width, grid.height)
    try:
        win = win.intersection(full)
        win = Window(win.col_off, win.row_off, win.width + 1, win.height + 1).intersection(full)
    except RasterioError:
        raise InputError(
            "the fields do not overlap the scene", scene_path, "check the fields' CRS and extent"
        ) from None
    profile = {
        "driver": "GTiff",
        "width": int(win.width),
        "height": int(win.height),
        "count": len(names),
        "dtype": "float32",
        "nodata": float("nan"),
        "crs": grid.crs,
        "transform": rasterio.windows.transform(win, grid.transform),
        "tiled": True,
        "compress": "deflate",
    }
    rows = max(1, STRIP_PIXELS // max(int(win.width), 1))
    with scene, rasterio.open(dest, "w", **profile) as out:
        for i, name in enumerate(names, start=1):
            out.set_band_description(i, name)
        for r in range(0, int(win.height), rows):
            h = min(rows, int(win.height) - r)
            part = Window(win.col_off, win.row_off + r, win.width, h)
            refl, valid = scene.read(part, bands)
            values = idx.compute(names, dict(zip(bands, refl, strict=True)), valid)
            values[:, ~valid] = np.nan
            out.write(values, window=Window(0, r, int(win.width), h))
    return dest


def write_zonal(table: gpd.GeoDataFrame, path: str | Path) -> Path:
    """GeoPackage (layer ``zonal_stats``, with the field polygons) or CSV (no geometry)."""
    return gpkg.write_gpkg_or_csv(table, path, ZONAL_LAYER, "zonal statistics")
