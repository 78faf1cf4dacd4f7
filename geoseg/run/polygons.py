"""The second stage: polygons of the class raster into the run's GeoPackage, sieved to the minimum
mapping unit and simplified, strip by strip, with the QGIS default style.

``vectorize`` reads a finished class raster (:func:`run_vectorize`); ``classify`` traces the
staged one while its COGs are written (:class:`PolygonsBesideRasters`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd

from geoseg.classes import ClassInfo
from geoseg.core.areas import pixel_area_m2, polygon_measures, row_areas_m2
from geoseg.core.polygonize import PolygonBatch, polygonize, sieve_pixels
from geoseg.io import gpkg, styles
from geoseg.io.grid import Grid
from geoseg.run.options import OutputOptions
from geoseg.run.results import Progress, Segmentation, Vectors
from geoseg.tiling import polygon_strip_rows

COLUMNS = ("class_id", "class_name", "area_m2", "area_ha", "perimeter_m", "pixels", "confidence")


def sieve_settings(grid: Grid, output: OutputOptions) -> tuple[int, float]:
    """The sieve size (pixels) and the simplification tolerance (pixels) of ``output``'s
    minimum mapping unit and ``simplify_m`` on ``grid``."""
    px_area = pixel_area_m2(grid)
    if px_area is None:  # geographic: the pixel area at the scene centre sets the sieve size
        px_area = float(row_areas_m2(grid, range(grid.height // 2, grid.height // 2 + 1))[0])
    # GDAL's sieve refuses a size as large as the raster it reads (rasterio: ValueError), and a
    # scene smaller than the minimum mapping unit (e.g. 1×1 px) would give exactly that: sieve it
    # as far as the scene allows. Every strip reads at least the scene or min_px + 1 rows.
    min_px = max(
        1, min(sieve_pixels(output.min_area_ha * 1e4, px_area), grid.width * grid.height - 1)
    )
    return min_px, output.simplify_m / (px_area**0.5) if output.simplify_m else 0.0


def run_vectorize(
    seg: Segmentation, src: Path, staging: Path, output: OutputOptions, progress: Progress
) -> Vectors:
    """Polygons from the class raster in ``src`` into a GeoPackage staged in ``staging``."""
    t0 = time.perf_counter()
    confidence_path = src / seg.confidence.name if seg.confidence else None
    batches, strips = polygon_batches(seg.grid, src / seg.classes.name, confidence_path, output)
    gpkg_path = staging / seg.paths.polygons.name
    counts = write_polygons(
        batches, seg.grid, seg.class_info, seg.model_name, gpkg_path, strips, progress
    )
    seg.timings["vectorize_s"] = time.perf_counter() - t0
    return Vectors(seg.paths.polygons, counts)


def polygon_batches(
    grid: Grid, classes: Path, confidence: Path | None, output: OutputOptions
) -> tuple[Iterator[PolygonBatch], int]:
    """The polygon batches of a class raster on ``grid`` as ``output`` asks, and the strips."""
    min_px, simplify_px = sieve_settings(grid, output)
    strip = polygon_strip_rows(grid.width)
    batches = polygonize(classes, confidence, min_px, simplify_px, strip)
    return batches, -(-grid.height // strip)


def write_polygons(
    batches: Iterable[PolygonBatch],
    grid: Grid,
    class_info: list[ClassInfo],
    model_name: str,
    gpkg_path: Path,
    strips: int,
    progress: Progress,
) -> list[int]:
    """Polygon batches with their measures into ``gpkg_path``, with the default style; returns
    the polygons per class."""
    names = {c.id: c.name for c in class_info}
    counts = [0] * len(class_info)
    progress("vectorize", 0, strips)
    wrote = False
    for done, batch in enumerate(batches, start=1):
        area_m2, perimeter_m = polygon_measures(batch.geometry, grid)
        values = {
            "class_id": batch.class_id,
            "class_name": [names[int(c)] for c in batch.class_id],
            "area_m2": area_m2,
            "area_ha": area_m2 / 1e4,
            "perimeter_m": perimeter_m,
            "pixels": batch.pixels,
            "confidence": batch.confidence,
        }
        frame = gpd.GeoDataFrame(values, geometry=list(batch.geometry), crs=grid.crs.to_wkt())
        gpkg.append_polygons(gpkg_path, frame)
        wrote = True
        for c in batch.class_id:
            counts[int(c)] += 1
        progress("vectorize", min(done, strips), strips)
    if not wrote:
        empty = gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs=grid.crs.to_wkt())
        gpkg.append_polygons(gpkg_path, empty)
    gpkg.write_default_style(
        gpkg_path, gpkg.POLYGON_LAYER, styles.vector_qml(class_info), model_name
    )
    progress("vectorize", strips, strips)
    return counts


class _Stopped(Exception):
    """The run failed elsewhere: the polygon thread stops at the next strip."""


class PolygonsBesideRasters:
    """``classify``'s polygons, traced in their own thread from the staged class raster while the
    COGs are written: GDAL compresses those on every core, and tracing holds the GIL much of the
    time, so each fills the other's gaps. The same strips and code as :func:`run_vectorize`, so
    the same polygons in the same order.

    Not while the model runs: that was measured on a full tile (2 cores) and the classification
    slowed by more than the polygons cost, with 0.8 GB more peak memory (bench/RESULTS.md).

    :meth:`start` once the staged rasters are closed; :meth:`result` waits for the GeoPackage.
    Use as a context manager: leaving it early stops the thread at the next strip."""

    def __init__(
        self,
        grid: Grid,
        class_info: list[ClassInfo],
        model_name: str,
        final: Path,
        staging: Path,
        output: OutputOptions,
        progress: Progress,
    ) -> None:
        self._grid, self._class_info, self._model_name = grid, class_info, model_name
        self._final, self._gpkg = final, staging / final.name
        self._output, self._progress = output, progress
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoseg-polygons")
        self._future: Future[list[int]] | None = None
        self._started_at = self._done_at = 0.0

    def __enter__(self) -> PolygonsBesideRasters:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def start(self, classes: Path, confidence: Path | None) -> None:
        """Trace the polygons of ``classes`` (a closed raster; ``confidence`` beside it)."""
        batches, strips = polygon_batches(self._grid, classes, confidence, self._output)
        self._started_at = time.perf_counter()
        self._future = self._pool.submit(self._write, batches, strips)

    def result(self, timings: dict[str, float]) -> Vectors:
        """The GeoPackage's polygons once written (its errors raised here); ``timings`` gets the
        polygons' own seconds (``vectorize_s``) and how long the run waited for them after the
        COGs (``vectorize_wait_s``)."""
        if self._future is None:
            raise RuntimeError("the polygons were never started")
        t0 = time.perf_counter()
        counts = self._future.result()
        timings["vectorize_wait_s"] = time.perf_counter() - t0
        timings["vectorize_s"] = self._done_at - self._started_at
        return Vectors(self._final, counts)

    def _write(self, batches: Iterable[PolygonBatch], strips: int) -> list[int]:
        counts = write_polygons(
            self._unless_stopped(batches),
            self._grid,
            self._class_info,
            self._model_name,
            self._gpkg,
            strips,
            self._progress,
        )
        self._done_at = time.perf_counter()
        return counts

    def _unless_stopped(self, batches: Iterable[PolygonBatch]) -> Iterator[PolygonBatch]:
        for batch in batches:
            if self._stop.is_set():
                raise _Stopped
            yield batch
