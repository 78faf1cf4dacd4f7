"""The last stage: the area table as CSV, as the stats JSON (with the run's provenance) and as a
table in the GeoPackage, and a STAC item describing every output."""

from __future__ import annotations

from pathlib import Path

import pystac

from geoseg._version import __version__
from geoseg.io import gpkg, stac_item
from geoseg.run.identity import ClassArea
from geoseg.run.paths import RunPaths
from geoseg.run.results import ClassifyResult, Segmentation, Vectors


def run_summarize(seg: Segmentation, vectors: Vectors | None, staging: Path) -> ClassifyResult:
    """Area table → CSV, JSON and the GeoPackage's stats layer, staged in ``staging``."""
    table = seg.area.table(seg.class_info, vectors.polygons_per_class if vectors else None)
    paths, target = seg.paths, RunPaths(staging, seg.stem)
    table.to_csv(target.stats_csv, index=False)
    rows = [ClassArea.model_validate(r) for r in table.to_dict(orient="records")]
    target.stats_json.write_text(seg.summary.model_copy(update={"classes": rows}).to_json())
    if vectors is not None:
        gpkg.write_table(staging / vectors.path.name, table, gpkg.STATS_LAYER)
    # polygons traced beside the COGs (classify) add only the wait after them
    polygons = "vectorize_wait_s" if "vectorize_wait_s" in seg.timings else "vectorize_s"
    seg.timings["total_s"] = sum(
        seg.timings.get(k, 0.0) for k in ("detect_masks_s", "classify_s", "write_s", polygons)
    )
    result = ClassifyResult(
        out_dir=seg.out_dir,
        classes=seg.classes,
        confidence=seg.confidence,
        polygons=vectors.path if vectors else None,
        stats_csv=paths.stats_csv,
        stats_json=paths.stats_json,
        style=seg.style,
        indices=seg.indices,
        stats=table,
        valid_pixels=seg.area.valid_pixels,
        total_pixels=seg.grid.width * seg.grid.height,
        timings=seg.timings,
        masked_pixels=seg.masked_pixels,
        warnings=list(seg.summary.warnings),
        confidence_style=seg.confidence_style,
        probabilities=seg.probabilities,
        quicklook=seg.quicklook,
        chunks=seg.summary.chunks,
        reused_chunks=seg.summary.reused_chunks,
    )
    if seg.stac:
        result.stac_item = paths.stac_item
        stac_item.write_item(stac_item_for_run(result, seg), target.stac_item)
    return result


def stac_item_for_run(result: ClassifyResult, seg: Segmentation) -> pystac.Item:
    """The item of a ``classify`` run: every output file as an asset, model provenance."""
    outputs: dict[str, tuple[Path | None, tuple[str, ...], str]] = {
        "classes": (result.classes, ("data",), "land-cover classes"),
        "confidence": (result.confidence, ("data", "quality"), "confidence of the class, %"),
        "probabilities": (result.probabilities, ("data",), "probability of each class, %"),
        "indices": (result.indices, ("data",), "spectral indices (band descriptions)"),
        "polygons": (result.polygons, ("data",), "class polygons and area table (GeoPackage)"),
        "stats_csv": (result.stats_csv, ("metadata",), "class areas (CSV)"),
        "stats_json": (result.stats_json, ("metadata",), "class areas and run summary (JSON)"),
        "style": (result.style, ("metadata",), "QGIS style of the class raster"),
        "confidence_style": (
            result.confidence_style,
            ("metadata",),
            "QGIS style of the confidence raster",
        ),
        "quicklook": (result.quicklook, ("overview",), "true colour beside the class map"),
    }
    return stac_item.build_item(
        seg.stem,
        seg.grid,
        seg.class_info,
        [stac_item.AssetSpec(k, p, r, t) for k, (p, r, t) in outputs.items() if p is not None],
        stats=result.stats,
        when=seg.acquired,
        properties={
            "geoseg:version": __version__,
            "geoseg:model": seg.model_name,
            "geoseg:model_sha256": seg.summary.model.sha256,
            "geoseg:valid_pixels": result.valid_pixels,
            "geoseg:total_pixels": result.total_pixels,
        },
    )
