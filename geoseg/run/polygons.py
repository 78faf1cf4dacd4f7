"""The second stage: polygons of the class raster into the run's GeoPackage, sieved to the minimum
mapping unit and simplified, strip by strip, with the QGIS default style."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd

from geoseg.core.areas import pixel_area_m2, polygon_measures, row_areas_m2
from geoseg.core.polygonize import polygonize, sieve_pixels
from geoseg.io import gpkg, styles
from geoseg.run.options import OutputOptions
from geoseg.run.paths import RunPaths
from geoseg.run.results import Progress, Segmentation, Vectors
from geoseg.tiling import polygon_strip_rows

COLUMNS = ("class_id", "class_name", "area_m2", "area_ha", "perimeter_m", "pixels", "confidence")


def run_vectorize(
    seg: Segmentation, src: Path, staging: Path, output: OutputOptions, progress: Progress
) -> Vectors:
    """Polygons from the class raster in ``src`` into a GeoPackage staged in ``staging``."""
    t0 = time.perf_counter()
    classes_path = src / seg.classes.name
    confidence_path = src / seg.confidence.name if seg.confidence else None
    final = seg.paths.polygons
    gpkg_path = RunPaths(staging, seg.stem).polygons
    grid = seg.grid
    px_area = pixel_area_m2(grid)
    if px_area is None:  # geographic: the pixel area at the scene centre sets the sieve size
        px_area = float(row_areas_m2(grid, range(grid.height // 2, grid.height // 2 + 1))[0])
    # GDAL's sieve refuses a size as large as the raster it reads (rasterio: ValueError), and a
    # scene smaller than the minimum mapping unit (e.g. 1×1 px) would give exactly that: sieve it
    # as far as the scene allows. Every strip reads at least the scene or min_px + 1 rows.
    min_px = max(
        1, min(sieve_pixels(output.min_area_ha * 1e4, px_area), grid.width * grid.height - 1)
    )
    simplify_px = output.simplify_m / (px_area**0.5) if output.simplify_m else 0.0
    names = {c.id: c.name for c in seg.class_info}
    counts = [0] * len(seg.class_info)
    strip = polygon_strip_rows(grid.width)
    total = -(-grid.height // strip)
    progress("vectorize", 0, total)
    wrote = False
    for done, batch in enumerate(
        polygonize(classes_path, confidence_path, min_px, simplify_px, strip), start=1
    ):
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
        progress("vectorize", min(done, total), total)
    if not wrote:
        empty = gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs=grid.crs.to_wkt())
        gpkg.append_polygons(gpkg_path, empty)
    gpkg.write_default_style(
        gpkg_path, gpkg.POLYGON_LAYER, styles.vector_qml(seg.class_info), seg.model_name
    )
    progress("vectorize", total, total)
    seg.timings["vectorize_s"] = time.perf_counter() - t0
    return Vectors(final, counts)
