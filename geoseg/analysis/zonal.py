"""Field statistics: per polygon and date, class shares and spectral-index statistics.

Each raster given is one of three kinds, told apart by its metadata: a class raster gives class
shares: one written by ``geoseg classify`` (``GEOSEG_CLASSES`` tag), or any other single-band
integer raster (a Dynamic World ``label.tif``, named by its palette; anything else, its columns
named by value), since one band cannot give a spectral index; an index raster (``classify
--indices``: float bands described ``NDVI``, ``NDWI``…) gives index statistics; anything else is a
scene, whose indices are computed with :mod:`geoseg.indices` strip by strip over the fields' extent
into a temporary raster. Statistics come from ``exactextract``, which weights each pixel by the
share of it the polygon covers (so small fields are not rounded to whole pixels); quantiles are
the usual linear interpolation (numpy's default) on those weights. Rows are one per field and
date; rasters of the same date (e.g. a run's classes and its indices) fill the same row. A
raster's date comes from ``dates``, its tags, its name or the name of the folder holding it (the
scene a band file belongs to); a table mixing dated and undated rasters is refused (the undated
rows would match nothing), and undated rows are reported with a :class:`~geoseg.dates.DateWarning`.

Values are rounded to what they can tell (:mod:`geoseg.core.areas`): shares and percentages to
0.01 %, index statistics to 1e-4, pixel counts to whole pixels (each pixel counted by the share of
it the field covers, then rounded).

Fields partly or wholly outside a raster (or under its nodata) are not dropped: ``mapped_pct``
(class rasters) and ``<INDEX>_valid_pct`` say how much of each field the statistics saw, and a
:class:`CoverageWarning` names the fields a raster has no valid pixel for. Fields that miss a
raster altogether are an error: their CRS or extent is wrong, not the data.
"""

from __future__ import annotations

import re
import tempfile
import warnings
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
from shapely.geometry import box

from geoseg import indices as idx
from geoseg.bands import band_in_filename, canonical
from geoseg.classes import DW_CLASSES, LEGEND_TAG
from geoseg.core.areas import INDEX_DECIMALS, PCT_DECIMALS
from geoseg.dates import raster_dates
from geoseg.errors import InputError
from geoseg.io import gpkg
from geoseg.io.class_raster import class_names, dw_palette, not_class_values
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
#: ids of fields without valid pixels named in a warning, at most
_WARN_IDS = 10


class CoverageWarning(UserWarning):
    """Some fields have no valid pixel in a raster: their statistics there are empty."""


def read_fields(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Polygons from any vector file GDAL reads; the CRS is required."""
    p = Path(path)
    if not p.exists():
        raise InputError("fields file not found", p, "give a GeoPackage/GeoJSON of polygons")
    try:
        fields = gpd.read_file(p, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError("cannot read the fields", p, f"give a polygon layer ({exc})") from exc
    fields.attrs["source"] = str(p)  # named in errors about the fields and a raster
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
    """``classes``, ``indices`` or ``scene`` (see the module docstring): a single-band integer
    raster is a class raster whoever made it, unless it names a spectral band (one band of a
    scene, which is refused later as a scene lacking bands)."""
    p = Path(path)
    if not p.exists():
        raise InputError("raster not found", p, "check the path")
    if p.is_dir():
        return "scene"
    try:
        with rasterio.open(p) as ds:
            tags, descriptions, dtype = ds.tags(), ds.descriptions, ds.dtypes[0]
            problem = not_class_values(ds)
            spectral = any(canonical(str(d)) for d in descriptions if d)
    except RasterioError as exc:
        raise InputError("not a readable raster", p, str(exc)) from exc
    if (  # before the class tag: classify writes its provenance tags on index rasters too
        np.issubdtype(np.dtype(dtype), np.floating)
        and all(descriptions)
        and all(str(d).upper() in idx.REGISTRY for d in descriptions)
    ):
        return "indices"
    if LEGEND_TAG in tags:
        if problem:  # the confidence raster carries the legend too
            raise InputError(
                f"not a class, index or scene raster ({problem})",
                p,
                "give the <scene>_classes.tif, an index raster or a scene",
            )
        return "classes"
    if problem is None and not spectral and band_in_filename(p.stem) is None:
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
    label = str(frame.attrs.get("source", "fields"))
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
    for raster, when in zip(rasters, raster_dates(rasters, dates), strict=True):
        part, covered = _stats_of(frame, label, Path(raster), names, read)
        _warn_uncovered(ids[~(covered > 0)], len(ids), raster)
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


def _warn_uncovered(ids: pd.Series, total: int, raster: str | Path) -> None:
    if len(ids):
        shown = ", ".join(map(str, ids.iloc[:_WARN_IDS])) + (", …" if len(ids) > _WARN_IDS else "")
        warnings.warn(
            CoverageWarning(
                f"{len(ids)} of {total} field(s) have no valid pixels in {raster} (ids {shown}): "
                "their statistics are empty; check their extent, or the raster's nodata"
            ),
            stacklevel=3,
        )


def _stats_of(
    fields: gpd.GeoDataFrame, label: str, raster: Path, names: Sequence[str], read: ReadOptions
) -> tuple[pd.DataFrame, np.ndarray]:
    """The raster's columns, and the share (%) of each field it has valid pixels for."""
    kind = raster_kind(raster)
    if kind == "classes":
        return _class_shares(fields, label, raster)
    if kind == "indices":
        return _index_stats(fields, label, raster, None)
    with tempfile.TemporaryDirectory(prefix="geoseg-zonal-") as tmp:
        computed = _scene_indices(fields, label, raster, names, Path(tmp) / "indices.tif", read)
        return _index_stats(fields, label, computed, names)


def _in_crs(fields: gpd.GeoDataFrame, label: str, ds: Any) -> gpd.GeoDataFrame:
    """The fields in the raster's CRS; none of them on the raster is an error (wrong CRS or
    extent), since every row would be empty."""
    if ds.crs is None:
        raise InputError("raster has no CRS", ds.name, "georeference it")
    out = fields[[fields.geometry.name]].to_crs(ds.crs.to_wkt())
    if not out.geometry.intersects(box(*ds.bounds)).any():
        raise InputError(
            "the fields do not overlap the raster",
            f"{label}, {ds.name}",
            f"check the fields' CRS ({_crs_name(fields.crs)}) and extent against the raster's "
            f"({_crs_name(ds.crs)})",
        )
    out["__row"] = np.arange(len(out))
    return out


def _crs_name(crs: Any) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else str(getattr(crs, "name", crs))


def _covered_pct(fields: gpd.GeoDataFrame, ds: Any, pixels: pd.Series) -> np.ndarray:
    """Share (%) of each field's area under valid pixels, from exactextract's coverage-weighted
    count (areas in the raster's CRS units: approximate for a geographic raster)."""
    area = fields.geometry.area.to_numpy()
    px = abs(ds.transform.a * ds.transform.e - ds.transform.b * ds.transform.d)
    count = pd.to_numeric(pixels, errors="coerce").fillna(0).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(area > 0, 100.0 * count * px / area, 0.0)
    return np.minimum(pct, 100.0)


def _extract(ds: Any, fields: gpd.GeoDataFrame, ops: list[str]) -> pd.DataFrame:
    from exactextract import exact_extract

    try:
        res = exact_extract(ds, fields, ops, include_cols=["__row"], output="pandas")
    except (RuntimeError, ValueError) as exc:
        raise InputError("cannot compute zonal statistics", ds.name, str(exc)) from exc
    return pd.DataFrame(res).set_index("__row").reindex(range(len(fields)))


def _class_shares(
    fields: gpd.GeoDataFrame, label: str, raster: Path
) -> tuple[pd.DataFrame, np.ndarray]:
    with rasterio.open(raster) as ds:
        names = class_names(raster) or ([c.name for c in DW_CLASSES] if dw_palette(ds) else None)
        local = _in_crs(fields, label, ds)
        res = _extract(ds, local, ["unique", "frac", "majority", "count"])
        covered = _covered_pct(local, ds, res["count"])
    found = [
        (int(v), float(f))
        for values, fracs in zip(res["unique"], res["frac"], strict=True)
        for v, f in zip(_listed(values), _listed(fracs), strict=True)
    ]
    # without a legend the classes are the values found, named by value
    legend = dict(enumerate(names)) if names is not None else {v: str(v) for v, _ in found}
    column = {v: k for k, v in enumerate(sorted(legend))}
    shares = np.zeros((len(res), len(column)))
    for k, (values, fracs) in enumerate(zip(res["unique"], res["frac"], strict=True)):
        if len(_listed(values)) == 0:
            shares[k] = np.nan  # no mapped pixel under the field: shares are unknown, not 0
            continue
        for v, f in zip(_listed(values), _listed(fracs), strict=True):
            if int(v) in column:
                shares[k, column[int(v)]] += 100.0 * float(f)
    out = pd.DataFrame(
        shares.round(PCT_DECIMALS), columns=[f"share_{legend[v]}" for v in sorted(legend)]
    )
    majority = pd.to_numeric(res["majority"], errors="coerce").to_numpy(dtype=np.float64)
    out["majority_class"] = [legend.get(int(m)) if np.isfinite(m) else None for m in majority]
    out["mapped_pct"] = covered.round(PCT_DECIMALS)
    return out, covered


def _listed(values: Any) -> list[Any]:
    """exactextract's list cell (an array, or NaN when the field had no valid pixel)."""
    return list(values) if isinstance(values, np.ndarray | list) else []


def _index_stats(
    fields: gpd.GeoDataFrame, label: str, raster: Path, names: Sequence[str] | None
) -> tuple[pd.DataFrame, np.ndarray]:
    stat_of = {column: stat for stat, _, column in INDEX_STATS}
    out = pd.DataFrame(index=range(len(fields)))
    with rasterio.open(raster) as ds:
        bands = list(names or [str(d).upper() for d in ds.descriptions])
        local = _in_crs(fields, label, ds)
        res = _extract(ds, local, [op for _, op, _ in INDEX_STATS])
        for column in res.columns:
            m = re.fullmatch(r"(?:band_(\d+)_)?(.+)", str(column))
            if m and m[2] in stat_of:
                band = bands[int(m[1]) - 1] if m[1] else bands[0]
                values = pd.to_numeric(res[column], errors="coerce")
                stat = stat_of[m[2]]
                if stat == "pixels":  # coverage-weighted: a count only once rounded
                    out[f"{band}_pixels"] = values.fillna(0).round().astype(np.int64)
                    out[f"{band}_valid_pct"] = _covered_pct(local, ds, values).round(PCT_DECIMALS)
                else:
                    out[f"{band}_{stat}"] = values.to_numpy(dtype=np.float64).round(INDEX_DECIMALS)
    order = [f"{b}_{stat}" for b in bands for stat in [*stat_of.values(), "valid_pct"]]
    out = out[[c for c in order if c in out.columns]]
    covered = out.filter(like="_valid_pct").max(axis=1).fillna(0).to_numpy()
    return out, covered


def _scene_indices(
    fields: gpd.GeoDataFrame,
    label: str,
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
            "the fields do not overlap the scene",
            f"{label}, {scene_path}",
            f"check the fields' CRS ({_crs_name(fields.crs)}) and extent against the scene's "
            f"({_crs_name(grid.crs)})",
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
