"""Stratified random samples of a class raster, and area estimates from the labelled sample.

The map classes are the strata (Olofsson et al. 2014). Drawing is two passes over row strips of
the raster, so memory depends on the strip, not the raster: the first counts each class's pixels,
then each stratum's sample is a seeded choice of pixel *ranks* (without replacement) that the
second pass turns into pixel centres. The same raster, allocation and seed give the same points.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.core.area_estimate import AreaEstimate, error_matrix, estimate_areas
from geoseg.core.areas import AreaAccumulator, pixel_area_m2
from geoseg.errors import InputError, OptionError
from geoseg.io import gpkg
from geoseg.io.grid import Grid
from geoseg.tiling import STRIP_PIXELS

ALLOCATIONS = ("proportional", "equal")
REFERENCE_COLUMN = "reference_class"
SAMPLE_LAYER = "sample"
CLASS_RASTER_REMEDY = "give the <scene>_classes.tif that geoseg classify wrote"


def _strips(height: int, width: int) -> Iterator[Window]:
    rows = max(1, STRIP_PIXELS // max(width, 1))
    for r in range(0, height, rows):
        yield Window(0, r, width, min(rows, height - r))


def _open(raster: str | Path) -> rasterio.DatasetReader:
    path = Path(raster)
    if path.is_dir():
        raise InputError("not a class raster (a folder)", path, CLASS_RASTER_REMEDY)
    if not path.is_file():
        raise InputError("class raster not found", path, "give a <scene>_classes.tif")
    try:
        return rasterio.open(path)
    except RasterioError as exc:
        raise InputError("not a readable raster", path, str(exc)) from exc


def raster_classes(raster: str | Path) -> list[str]:
    """Class names of a geoseg class raster (its tags), else the shipped model's classes.

    A raster that cannot hold class values (a scene, the confidence raster) is refused here:
    read as classes, it would give an empty sample or areas of nonsense."""
    from geoseg.io.class_raster import class_names, not_class_values

    with _open(raster) as ds:
        problem = not_class_values(ds)
    if problem:
        raise InputError(f"not a class raster ({problem})", raster, CLASS_RASTER_REMEDY)
    names = class_names(raster)
    if names:
        return names
    from geoseg.models.bundle import load_bundle

    return [c.name for c in load_bundle().classes]


def mapped_areas(raster: str | Path, n_classes: int) -> pd.DataFrame:
    """Pixels and area (ha) per class value ``0..n_classes-1``, counted strip by strip."""
    with _open(raster) as ds:
        if ds.crs is None:
            raise InputError("raster has no CRS", raster, "georeference it")
        grid = Grid(ds.crs, ds.transform, ds.width, ds.height)
        acc = AreaAccumulator(grid, n_classes)
        for win in _strips(ds.height, ds.width):
            acc.add(win, _read_classes(ds, win))
    px_area = pixel_area_m2(grid)
    area = acc.pixels * px_area if px_area is not None else acc.area_m2
    return pd.DataFrame({"pixels": acc.pixels, "area_ha": area / 1e4})


def _read_classes(ds: rasterio.DatasetReader, win: Window) -> np.ndarray:
    try:
        data = ds.read(1, window=win)
    except RasterioError as exc:
        raise InputError("cannot read raster", ds.name, str(exc)) from exc
    data = data.astype(np.int64)
    if ds.nodata is not None:
        data[data == ds.nodata] = NODATA
    data[(data < 0) | (data > NODATA)] = NODATA
    return data.astype(np.uint16)


def allocate(
    pixels: Sequence[int] | np.ndarray,
    n: int,
    allocation: str = "proportional",
    min_per_class: int = 0,
    fixed: Mapping[int, int] | None = None,
) -> np.ndarray:
    """Sample size per stratum.

    ``proportional`` to mapped pixels (largest remainders, summing to ``n``) or ``equal``;
    ``min_per_class`` raises small strata (Olofsson et al. recommend 50–100 points for rare
    classes) and the rest is shared among the others; ``fixed`` sets strata by hand. No stratum
    gets more points than it has pixels; strata without pixels get none.
    """
    if allocation not in ALLOCATIONS:
        raise InputError(
            f"unknown allocation {allocation!r}", "--allocation", f"use {', '.join(ALLOCATIONS)}"
        )
    if n < 0 or min_per_class < 0:
        raise InputError(
            f"sample sizes must not be negative (n {n}, min per class {min_per_class})",
            "-n/--min-per-class",
            "give 0 or more",
        )
    count = np.asarray(pixels, dtype=np.int64)
    out = np.zeros(len(count), dtype=np.int64)
    open_ = count > 0
    for cls, size in (fixed or {}).items():
        out[cls] = size
        open_[cls] = False
    floor = np.where(open_, np.minimum(min_per_class, count), 0)
    while True:
        left = max(n - int(out[~open_].sum()), 0)
        share = _split(left, np.where(open_, count, 0), allocation)
        low = open_ & (share < floor)
        if not low.any():
            out[open_] = share[open_]
            break
        out[low] = floor[low]
        open_ &= ~low
    return np.minimum(out, count)


def _split(n: int, weight: np.ndarray, allocation: str) -> np.ndarray:
    """``n`` split by weight (equal: by presence), largest remainders first."""
    w = (weight > 0).astype(np.float64) if allocation == "equal" else weight.astype(np.float64)
    if n == 0 or w.sum() == 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = n * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = n - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return base


def draw_sample(
    raster: str | Path,
    n: int,
    allocation: str = "proportional",
    min_per_class: int = 0,
    per_class: Mapping[str, int] | None = None,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Stratified random points at pixel centres, one row per point, ready to be labelled.

    An empty sample is an error, not an empty file: nothing could be labelled or estimated."""
    if n < 0:
        raise OptionError(f"-n {n} is out of range", None, "give a positive number of points")
    if n + sum((per_class or {}).values()) == 0:
        raise OptionError("-n 0 draws no points", None, "give -n 1 or more, or --per-class sizes")
    names = raster_classes(raster)
    k = len(names)
    fixed: dict[int, int] = {}
    for name, size in (per_class or {}).items():
        if name not in names:
            raise InputError(
                f"unknown class {name!r} in the allocation",
                "--per-class",
                f"use {', '.join(names)}",
            )
        fixed[names.index(name)] = int(size)
    counts = mapped_areas(raster, k)["pixels"].to_numpy()
    if counts.sum() == 0:
        raise InputError(f"no pixel holds a class value 0..{k - 1}", raster, CLASS_RASTER_REMEDY)
    sizes = allocate(counts, n, allocation, min_per_class, fixed)
    if sizes.sum() == 0:
        raise InputError(
            "no points to draw: the classes asked for are not mapped",
            "--per-class",
            "ask for mapped classes, or give -n",
        )
    rng = np.random.default_rng(seed)
    ranks = [
        np.sort(rng.choice(int(c), size=int(s), replace=False))
        for c, s in zip(counts, sizes, strict=True)
    ]
    seen = np.zeros(k, dtype=np.int64)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    cls_out: list[np.ndarray] = []
    with _open(raster) as ds:
        transform, crs = ds.transform, ds.crs
        for win in _strips(ds.height, ds.width):
            data = _read_classes(ds, win).ravel()
            for c in range(k):
                flat = np.flatnonzero(data == c)
                lo, hi = np.searchsorted(ranks[c], [seen[c], seen[c] + len(flat)])
                pick = flat[ranks[c][lo:hi] - seen[c]]
                seen[c] += len(flat)
                rows.append(pick // ds.width + int(win.row_off))
                cols.append(pick % ds.width)
                cls_out.append(np.full(len(pick), c))
    row, col, cls = np.concatenate(rows), np.concatenate(cols), np.concatenate(cls_out)
    order = np.lexsort((col, row, cls))
    row, col, cls = row[order], col[order], cls[order]
    xs, ys = rasterio.transform.xy(transform, row, col, offset="center")
    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    return gpd.GeoDataFrame(
        {
            "point_id": np.arange(1, len(row) + 1),
            "map_class": [names[c] for c in cls],
            "map_class_id": cls.astype(np.int64),
            "row": row.astype(np.int64),
            "col": col.astype(np.int64),
            "x": x,
            "y": y,
            REFERENCE_COLUMN: pd.Series([""] * len(row), dtype=object),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=crs.to_wkt() if crs else None,
    )


def write_points(points: gpd.GeoDataFrame, path: str | Path) -> Path:
    """GeoPackage (``.gpkg``) or CSV (``.csv``: x/y in the raster's CRS, no geometry column)."""
    return gpkg.write_gpkg_or_csv(points, path, SAMPLE_LAYER, "sample")


def read_labels(
    sample: str | Path,
    raster: str | Path,
    reference_column: str = REFERENCE_COLUMN,
) -> tuple[np.ndarray, np.ndarray]:
    """Map class (read from the raster at each point: the strata are the raster's) and
    reference class ids of a labelled sample. Labels may be class names or ids."""
    path = Path(sample)
    if not path.is_file():
        raise InputError("sample file not found", path, "give the labelled .gpkg or .csv")
    names = raster_classes(raster)
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype={reference_column: str}, keep_default_na=False)
            if not {"x", "y"} <= set(frame.columns):
                raise InputError("CSV sample lacks x and y columns", path, "keep geoseg's columns")
            x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
        else:
            layers = [name for name, _ in pyogrio.list_layers(path)]
            frame = gpd.read_file(path, layer=SAMPLE_LAYER if SAMPLE_LAYER in layers else None)
            with rasterio.open(raster) as ds:
                crs = ds.crs
            if frame.crs is not None and crs is not None:
                frame = frame.to_crs(crs.to_wkt())
            x, y = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    except (ValueError, KeyError, pyogrio.errors.DataSourceError) as exc:
        raise InputError("cannot read the sample", path, str(exc)) from exc
    if reference_column not in frame.columns:
        raise InputError(
            f"sample has no column {reference_column!r}",
            path,
            "label each point's reference class in that column (or name it with "
            "--reference-column)",
        )
    labels = frame[reference_column].fillna("").astype(str).str.strip()
    missing = int((labels == "").sum())
    if missing:
        raise InputError(
            f"{missing} of {len(labels)} sample points have no reference label",
            path,
            f"fill {reference_column} for every point (class name or id)",
        )
    lookup = {name: i for i, name in enumerate(names)} | {str(i): i for i in range(len(names))}
    unknown = sorted(set(labels) - set(lookup))
    if unknown:
        raise InputError(
            f"unknown reference class(es) {', '.join(unknown)}",
            path,
            f"use class names or ids of the map: {', '.join(names)}",
        )
    reference = labels.map(lookup).to_numpy(np.int64)
    with _open(raster) as ds:
        rows, cols = rasterio.transform.rowcol(ds.transform, x, y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        outside = (rows < 0) | (cols < 0) | (rows >= ds.height) | (cols >= ds.width)
        if outside.any():
            raise InputError(
                f"{int(outside.sum())} sample point(s) lie outside the raster", path, "check CRS"
            )
        mapped = np.array(
            [v[0] for v in ds.sample(zip(x, y, strict=True), indexes=1)], dtype=np.int64
        )
        if ds.nodata is not None:
            mapped[mapped == ds.nodata] = NODATA
    bad = mapped >= len(names)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} sample point(s) fall on nodata pixels of the map",
            path,
            "draw the sample from this raster with geoseg sample",
        )
    if "map_class" in frame.columns:
        given = frame["map_class"].astype(str).map(lookup)
        if given.isna().any() or (given.to_numpy() != mapped).any():
            raise InputError(
                "the sample's map_class column disagrees with the raster at the points",
                path,
                "estimate with the raster the sample was drawn from",
            )
    return mapped, reference


def area_estimate(
    raster: str | Path,
    sample: str | Path,
    reference_column: str = REFERENCE_COLUMN,
    confidence: float = 0.95,
) -> AreaEstimate:
    """Olofsson et al. (2014) area estimates for a class raster and its labelled sample."""
    if not 0 < confidence < 1:
        raise InputError("confidence must lie between 0 and 1", "--confidence", "e.g. 0.95")
    names = raster_classes(raster)
    mapped = mapped_areas(raster, len(names))
    map_ids, ref_ids = read_labels(sample, raster, reference_column)
    counts = error_matrix(map_ids, ref_ids, len(names))
    return estimate_areas(
        counts,
        mapped["area_ha"].to_numpy(),
        names,
        confidence=confidence,
        mapped_pixels=mapped["pixels"].to_numpy(),
    )
