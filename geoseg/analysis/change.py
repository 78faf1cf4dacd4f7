"""Change between two dates: a from-to raster, a transition matrix in hectares and change polygons.

AFTER is put onto BEFORE's grid (nearest neighbour, window by window through a warped VRT), strip
by strip: each strip is coded (:mod:`geoseg.core.change`), written to the staged change raster and
to a changed-pixels-only raster that :func:`geoseg.core.polygonize.polygonize` traces, and counted
into the matrix. Memory is a strip, whatever the raster size. Every output is staged and moved
into place only when all are written, as :mod:`geoseg.run.staging` does (same folder names, so
its clean-up of dead runs' folders covers these too; not imported, as it loads the engine: torch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from geoseg.analysis.change_inputs import (
    ClassMap,
    after_to_before,
    check_overlap,
    legend,
    open_map,
)
from geoseg.classes import NODATA, ClassInfo
from geoseg.core import change as core
from geoseg.core.areas import HA_DECIMALS, polygon_measures
from geoseg.core.polygonize import PolygonBatch, polygonize
from geoseg.errors import InputError, OutputError, out_of_range
from geoseg.io import class_raster, gpkg, styles
from geoseg.io.cog import StagedRaster
from geoseg.io.grid import Grid, on_grid
from geoseg.run.staging import commit, staging
from geoseg.tiling import STRIP_PIXELS, polygon_strip_rows

CLASSES = "change_classes.tif"
STYLE = "change_classes.qml"
MATRIX_CSV = "change_matrix.csv"
MATRIX_JSON = "change_matrix.json"
POLYGONS = "change.gpkg"
LAYER = "change"
COLUMNS = ("from_class", "to_class", "code", "area_ha", "pixels")
CONFIDENCES = ("confidence_before", "confidence_after")


@dataclass
class ChangeResult:
    """Where the outputs are, and the transition matrix (ha; rows BEFORE, columns AFTER)."""

    classes: Path
    style: Path
    matrix_csv: Path
    matrix_json: Path
    polygons: Path
    matrix: pd.DataFrame
    polygon_count: int

    @property
    def changed_ha(self) -> float:
        m = self.matrix.to_numpy()
        return _ha(m.sum() - np.trace(m))

    @property
    def unchanged_ha(self) -> float:
        return _ha(np.trace(self.matrix.to_numpy()))


def _ha(value: float | np.ndarray) -> float:
    """A sum of rounded hectares, rounded again: sums of decimals carry float noise
    (449.71999999999997)."""
    return round(float(value), HA_DECIMALS)


def change(
    before: str | Path, after: str | Path, out_dir: str | Path, min_area_ha: float = 0.0
) -> ChangeResult:
    """Compare two class maps of one place (see module docstring and README); polygons under
    ``min_area_ha`` are dropped, the raster and matrix stay exact."""
    if not math.isfinite(min_area_ha) or min_area_ha < 0:
        raise out_of_range("min_area_ha", min_area_ha, "hectares >= 0")
    b, a = open_map(before, "before"), open_map(after, "after")
    lut = after_to_before(b, a)
    check_overlap(b, a)
    out = _prepare(Path(out_dir))
    final = [out / name for name in (CLASSES, STYLE, MATRIX_CSV, MATRIX_JSON, POLYGONS)]
    with staging(out, "change") as stage:
        counter = _code_rasters(b, a, lut, stage)
        if counter.pixels.sum() == 0:
            raise InputError(
                "the maps share no pixel with a class in both",
                f"{b.path}, {a.path}",
                "give two maps of the same place with data in both",
            )
        matrix = counter.matrix_ha(b.names)
        count = _write_polygons(b, stage, min_area_ha)
        _write_matrix(matrix, counter, b, a, stage, min_area_ha, count)
        commit(stage, final)
    classes, style, matrix_csv, matrix_json, polygons = final
    return ChangeResult(classes, style, matrix_csv, matrix_json, polygons, matrix, count)


def _prepare(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot make the output folder ({exc.strerror or exc})", out, "choose another -o"
        ) from exc
    return out


def _strips(grid: Grid) -> Iterator[Window]:
    rows = max(1, STRIP_PIXELS // grid.width)
    for r0 in range(0, grid.height, rows):
        yield Window(0, r0, grid.width, min(rows, grid.height - r0))


def _classes_of(values: np.ndarray, m: ClassMap, n: int) -> np.ndarray:
    """Where ``values`` hold a class; a value that is neither a class nor nodata is refused."""
    valid = values != m.fill
    bad = valid & ((values < 0) | (values >= n))
    if bad.any():
        raise InputError(
            f"map holds value {values[bad][0]}, not one of its {n} classes nor its nodata",
            m.path,
            "give a class raster whose values are class ids",
        )
    return valid


def _code_rasters(b: ClassMap, a: ClassMap, lut: np.ndarray, stage: Path) -> core.TransitionCounter:
    """The strip pass: change codes, the polygon source and the confidences onto BEFORE's grid."""
    grid, n = b.grid, len(b.names)
    dtype, nodata = core.code_type(n)
    entries = core.change_legend(legend(b))
    coded = StagedRaster(
        stage / f".{CLASSES}",
        grid,
        dtype=dtype,
        nodata=nodata,
        tags=class_raster.tags(entries),
        colormap=core.colormap(entries, nodata),
    )
    source = StagedRaster(stage / "polygon_source.tif", grid, dtype="uint16", nodata=NODATA)
    counter = core.TransitionCounter(grid, n)
    with ExitStack() as stack:
        b_src = stack.enter_context(rasterio.open(b.path))
        a_ds = stack.enter_context(rasterio.open(a.path))
        a_src = on_grid(a_ds, grid, Resampling.nearest, nodata=a.fill)
        if a_src is not a_ds:
            stack.enter_context(a_src)
        confs = _confidence_sources(b, a, stack, stage)
        for win in _strips(grid):
            bv, av = b_src.read(1, window=win), a_src.read(1, window=win)
            valid = _classes_of(bv, b, n) & _classes_of(av, a, n)
            after_ids = lut[np.clip(av, 0, n - 1).astype(np.int64)]
            codes = core.encode(bv, after_ids, valid, n)
            coded.write(win, codes)
            source.write(win, core.polygon_source(codes, n))
            counter.add(win, codes)
            for src, dst in confs:
                dst.write(win, src.read(1, window=win))
        for _, dst in confs:
            dst.close()
    source.close()
    coded.to_cog(stage / CLASSES)
    (stage / f".{CLASSES}").unlink()
    class_raster.write_category_names(stage / CLASSES, entries)
    (stage / STYLE).write_text(styles.raster_qml(entries), encoding="utf-8")
    return counter


def _confidence_sources(
    b: ClassMap, a: ClassMap, stack: ExitStack, stage: Path
) -> list[tuple[Any, StagedRaster]]:
    """Both confidence rasters onto BEFORE's grid (staged), when both maps have one."""
    if b.confidence is None or a.confidence is None:
        return []
    out = []
    for role, path in (("before", b.confidence), ("after", a.confidence)):
        ds = stack.enter_context(rasterio.open(path))
        src = on_grid(ds, b.grid, Resampling.nearest, nodata=NODATA)
        if src is not ds:
            stack.enter_context(src)
        out.append((src, StagedRaster(stage / f"confidence_{role}.tif", b.grid)))
    return out


def _batches(stage: Path, strip_rows: int) -> Iterator[tuple[PolygonBatch, np.ndarray | None]]:
    """Change polygons with BEFORE's confidence, and AFTER's from a second, identical trace."""
    source = stage / "polygon_source.tif"
    before_conf, after_conf = stage / "confidence_before.tif", stage / "confidence_after.tif"
    if not before_conf.exists():
        for batch in polygonize(source, None, 1, 0.0, strip_rows):
            yield batch, None
        return
    first = polygonize(source, before_conf, 1, 0.0, strip_rows)
    second = polygonize(source, after_conf, 1, 0.0, strip_rows)
    for one, two in zip(first, second, strict=True):
        assert np.array_equal(one.pixels, two.pixels)  # same raster, same regions, same order
        yield one, two.confidence


def _write_polygons(b: ClassMap, stage: Path, min_area_ha: float) -> int:
    """Changed regions into the staged GeoPackage with their QGIS style; returns their count."""
    grid, n, names = b.grid, len(b.names), b.names
    path = stage / POLYGONS
    strip_rows = polygon_strip_rows(grid.width)
    count, frames = 0, 0
    for batch, after_conf in _batches(stage, strip_rows):
        area_m2, _ = polygon_measures(batch.geometry, grid)
        keep = area_m2 / 1e4 >= min_area_ha - 1e-9
        frm, to = core.decode(batch.class_id, n)
        values: dict[str, object] = {
            "from_class": [names[int(i)] for i in frm[keep]],
            "to_class": [names[int(i)] for i in to[keep]],
            "code": (frm * n + to)[keep],
            "area_ha": np.round(area_m2[keep] / 1e4, HA_DECIMALS),
            "pixels": batch.pixels[keep],
        }
        if after_conf is not None:
            values["confidence_before"] = batch.confidence[keep]
            values["confidence_after"] = after_conf[keep]
        frame = gpd.GeoDataFrame(values, geometry=list(batch.geometry[keep]), crs=grid.crs.to_wkt())
        if len(frame) or not frames:
            gpkg.append_polygons(path, frame, layer=LAYER)
            frames += 1
        count += int(keep.sum())
    if not frames:  # nothing changed: an empty layer, so the file opens all the same
        columns = COLUMNS + (CONFIDENCES if (stage / "confidence_before.tif").exists() else ())
        empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=grid.crs.to_wkt())
        gpkg.append_polygons(path, empty, LAYER)
    changed: list[ClassInfo] = [c for c in core.change_legend(legend(b)) if c.id // n != c.id % n]
    gpkg.write_default_style(path, LAYER, styles.vector_qml(changed, field="code"), "change")
    return count


def _write_matrix(
    matrix: pd.DataFrame,
    counter: core.TransitionCounter,
    b: ClassMap,
    a: ClassMap,
    stage: Path,
    min_area_ha: float,
    polygons: int,
) -> None:
    """The matrix as CSV (rows BEFORE, columns AFTER, ha) and as JSON with its totals."""
    matrix.to_csv(stage / MATRIX_CSV, index_label="before \\ after (ha)")
    m = matrix.to_numpy()
    doc = {
        "before": str(b.path),
        "after": str(a.path),
        "unit": "ha",
        "classes": list(matrix.index),
        "rows": "before",
        "columns": "after",
        "matrix_ha": m.tolist(),
        "pixels": counter.pixels.tolist(),
        "before_ha": {k: _ha(v) for k, v in zip(matrix.index, m.sum(axis=1), strict=True)},
        "after_ha": {k: _ha(v) for k, v in zip(matrix.columns, m.sum(axis=0), strict=True)},
        "unchanged_ha": _ha(np.trace(m)),
        "changed_ha": _ha(m.sum() - np.trace(m)),
        "valid_pixels": int(counter.pixels.sum()),
        "min_area_ha": min_area_ha,
        "polygons": polygons,
        "coding": f"change_classes.tif value = before_id * {len(b.names)} + after_id",
    }
    (stage / MATRIX_JSON).write_text(json.dumps(doc, indent=2) + "\n")
