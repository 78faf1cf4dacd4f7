"""The first stage: a scene's chunks through the model into the class (and confidence, class
probability, index) COGs, their QGIS styles and the quick look, with the exact class-area table,
all staged in one folder.

Finished chunks are kept in a chunk store beside the outputs (``resume``), so a run that died
recomputes only the missing chunks; the store is removed once every raster is staged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from geoseg._version import __version__
from geoseg.core.areas import AreaAccumulator
from geoseg.dates import DATE_TAG, raster_date
from geoseg.engine.chunkstore import ChunkStore
from geoseg.engine.local import Job, run_chunks
from geoseg.engine.select import open_engine
from geoseg.errors import GeosegError, InputError
from geoseg.io import class_raster, cog, styles
from geoseg.io.scene import Scene
from geoseg.models.bundle import Bundle
from geoseg.run.domain import assess
from geoseg.run.identity import (
    ModelRef,
    RunSummary,
    chunk_fingerprint,
    result_options,
    result_precision,
)
from geoseg.run.identity import source_identity as scene_identity
from geoseg.run.options import Options
from geoseg.run.paths import RunPaths
from geoseg.run.quicklook import drawable, write_png
from geoseg.run.results import Progress, Segmentation
from geoseg.tiling import TileGrid


@dataclass
class _Staged:
    """The rasters being written, window by window, as chunk cores arrive."""

    classes: cog.StagedRaster
    confidence: cog.StagedRaster | None
    indices: cog.StagedRaster | None
    probabilities: cog.StagedRaster | None = None


#: Tags of the class COG recording the cloud mask (``geoseg info`` reads them back).
CLOUD_TAGS = {
    "method": "GEOSEG_CLOUD_MASK",
    "detector": "GEOSEG_CLOUD_DETECTOR",
    "cloud_pct": "GEOSEG_CLOUD_PCT",
    "shadow_pct": "GEOSEG_SHADOW_PCT",
}


def source_tag(source: str) -> str:
    """Absolute path of a local input; URLs as given."""
    return source if "://" in source else str(Path(source).resolve())


def run_segment(
    scene: Scene,
    bundle: Bundle,
    opts: Options,
    paths: RunPaths,
    staging: Path,
    progress: Progress,
    after_model: Callable[[Path, Path | None], None] | None = None,
) -> Segmentation:
    """Classify ``scene`` into rasters staged in ``staging`` (named as ``paths`` says); the
    staged class and confidence rasters go to ``after_model`` before the COGs are written."""
    grid = tile_grid(scene, bundle, opts)
    acquired = scene_date(scene)
    timings: dict[str, float] = {}
    if any(m.detector is not None for m in scene.masks):
        t = time.perf_counter()
        scene.detect_masks()  # once, before the scene goes to workers: not once per worker
        timings["detect_masks_s"] = time.perf_counter() - t
    tags = _raster_tags(scene, bundle, grid, acquired)
    t0 = time.perf_counter()
    staged = _stage_rasters(scene, bundle, opts, tags, staging)
    area = AreaAccumulator(scene.grid, len(bundle.classes))
    store = None
    if opts.compute.resume:
        output = opts.output
        key = chunk_fingerprint(
            scene,
            bundle.identity,
            grid,
            output.indices,
            opts.tiling.tta,
            output.probabilities,
            result_precision(opts, bundle),
        )
        store = ChunkStore(paths.chunk_store(key), grid)
    masked, worker_s = _classify_chunks(scene, bundle, opts, grid, staged, area, store, progress)
    timings["classify_s"] = time.perf_counter() - t0
    timings.update({f"workers_{k}": v for k, v in worker_s.items()})
    if area.valid_pixels == 0:
        if store is not None:
            store.remove()  # nothing worth resuming
        _raise_no_valid_pixels(scene, masked)
    if after_model is not None:
        _hand_over(staged, after_model)
    t1 = time.perf_counter()
    progress("write", 0, 1)
    written = _write_rasters(staged, paths, staging, bundle)
    if opts.output.quicklook:
        target = RunPaths(staging, paths.stem)
        write_png(target.classes, target.quicklook, drawable(scene), title=paths.stem)
        written["quicklook"] = paths.quicklook
    progress("write", 1, 1)
    timings["write_s"] = time.perf_counter() - t1
    if store is not None:
        store.remove()  # every raster is staged: nothing left to resume
    return Segmentation(
        out_dir=paths.out_dir,
        stem=paths.stem,
        grid=scene.grid,
        classes=paths.classes,
        confidence=written.get("confidence"),
        indices=written.get("indices"),
        style=paths.style,
        class_info=list(bundle.classes),
        model_name=bundle.spec.name,
        area=area,
        masked_pixels=masked,
        acquired=acquired,
        stac=opts.output.stac,
        summary=_summary(scene, bundle, opts, grid, area.valid_pixels, masked, store),
        timings=timings,
        confidence_style=written.get("confidence_style"),
        probabilities=written.get("probabilities"),
        quicklook=written.get("quicklook"),
    )


def scene_date(scene: Scene) -> date | None:
    """The scene's acquisition date: product facts and tags, else its name or its band files'
    names (a folder of ``T33UUU_20170216T102101_B02.jp2`` files)."""
    files = [b.path for b in scene.bands.values()]
    return raster_date(scene.source, {**scene.tags, **scene.provenance}, files)


def tile_grid(scene: Scene, bundle: Bundle, opts: Options) -> TileGrid:
    """The run's tiles: the bundle's size and overlap unless overridden, anchored to the CRS."""
    tile, overlap = opts.tiling.effective(bundle.spec.tile_size, bundle.spec.overlap)
    height, width = scene.grid.height, scene.grid.width
    chunk = opts.tiling.chunk_size
    return TileGrid.for_chunk_size(height, width, tile, overlap, chunk, scene.grid.transform)


def _raster_tags(
    scene: Scene, bundle: Bundle, grid: TileGrid, acquired: date | None = None
) -> dict[str, str]:
    """Provenance tags of every raster the run writes; the acquisition date as ``GEOSEG_DATE``,
    the tag ``geoseg zonal`` reads a raster's date from."""
    tags = {
        "GEOSEG_VERSION": __version__,
        "GEOSEG_MODEL": bundle.spec.name,
        "GEOSEG_MODEL_SHA256": bundle.sha256,
        "GEOSEG_SOURCE": source_tag(scene.source),
        "GEOSEG_TILE": f"{grid.tile}/{grid.overlap}",
        **class_raster.tags(bundle.classes),
        "GEOSEG_SOURCE_KIND": scene.kind,
        **scene.provenance,
    }
    if scene.masks:
        tags["GEOSEG_MASKS"] = "; ".join(m.describe() for m in scene.masks)
    tags.update({CLOUD_TAGS[k]: str(v) for k, v in scene.cloud_record().items()})
    if acquired is not None:
        tags[DATE_TAG] = acquired.isoformat()
    return tags


def _stage_rasters(
    scene: Scene, bundle: Bundle, opts: Options, tags: dict[str, str], staging: Path
) -> _Staged:
    output = opts.output
    classes = cog.StagedRaster(
        staging / "classes.stage.tif",
        scene.grid,
        descriptions=["class"],
        tags=tags,
        colormap=class_raster.colormap(bundle.classes),
    )
    confidence = indices = None
    if output.confidence:
        confidence = cog.StagedRaster(
            staging / "confidence.stage.tif",
            scene.grid,
            descriptions=["confidence_pct"],
            tags={**tags, "GEOSEG_UNITS": "max class probability, percent"},
        )
    if output.indices:
        indices = cog.StagedRaster(
            staging / "indices.stage.tif",
            scene.grid,
            dtype="float32",
            count=len(output.indices),
            nodata=float("nan"),
            descriptions=list(output.indices),
            tags=tags,
        )
    probabilities = None
    if output.probabilities:
        probabilities = cog.StagedRaster(
            staging / "probabilities.stage.tif",
            scene.grid,
            count=len(bundle.classes),
            descriptions=[c.name for c in bundle.classes],
            tags={**tags, "GEOSEG_UNITS": "class probability, percent"},
        )
    return _Staged(classes, confidence, indices, probabilities)


def _hand_over(staged: _Staged, after_model: Callable[[Path, Path | None], None]) -> None:
    """The staged class and confidence rasters, closed (written out for other readers), to
    ``after_model`` (``classify`` traces its polygons while the COGs are written)."""
    staged.classes.close()
    if staged.confidence is not None:
        staged.confidence.close()
    after_model(staged.classes.path, staged.confidence.path if staged.confidence else None)


def _classify_chunks(
    scene: Scene,
    bundle: Bundle,
    opts: Options,
    grid: TileGrid,
    staged: _Staged,
    area: AreaAccumulator,
    store: ChunkStore | None,
    progress: Progress,
) -> tuple[int, dict[str, float]]:
    """Every chunk through the engine into the staged rasters and the area table; returns the
    masked pixels and the workers' seconds per phase."""
    total = len(grid)
    progress("classify", 0, total)
    job = Job(
        scene, grid, opts.output.indices, staged.probabilities is not None, len(bundle.classes)
    )
    worker_s: dict[str, float] = {}
    masked = 0
    with ExitStack() as stack:
        try:
            engine = stack.enter_context(
                open_engine(
                    opts.compute,
                    bundle,
                    scene.grid.width * scene.grid.height,
                    opts.tiling.batch_size,
                    opts.tiling.tta,
                )
            )
        except GeosegError:  # e.g. no scheduler at that address: nothing to resume
            if store is not None:
                store.remove()
            raise
        for done, res in enumerate(run_chunks(job, engine, store, worker_s), start=1):
            placed = job.grid.in_scene(res.chunk.core)  # cores reach into the grid's margin
            if placed is not None:
                win, (rows, cols) = placed
                staged.classes.write(win, res.classes[rows, cols])
                if staged.confidence is not None:
                    staged.confidence.write(win, res.confidence[rows, cols])
                if staged.probabilities is not None and res.probabilities is not None:
                    staged.probabilities.write(win, res.probabilities[:, rows, cols])
                if staged.indices is not None and res.extra is not None:
                    staged.indices.write(win, res.extra[:, rows, cols])
                area.add(win, res.classes[rows, cols])
            masked += res.masked
            progress("classify", done, total)
    return masked, worker_s


def _raise_no_valid_pixels(scene: Scene, masked: int) -> None:
    if masked:
        raise InputError(
            "every pixel holding data is masked (clouds or the --mask/--keep raster)",
            scene.source,
            "choose a clearer scene, fewer --scl-classes or another --mask/--keep",
        )
    raise InputError(
        "scene holds no valid pixels (all nodata)",
        scene.source,
        "check the nodata value (--nodata) or choose a scene that covers land",
    )


def _write_rasters(
    staged: _Staged, paths: RunPaths, staging: Path, bundle: Bundle
) -> dict[str, Path]:
    """The staged rasters as COGs (and the styles) in ``staging``; returns the final paths of
    the optional files written, by their :class:`RunPaths` name."""
    target = RunPaths(staging, paths.stem)
    staged.classes.to_cog(target.classes)
    class_raster.write_category_names(target.classes, bundle.classes)
    written: dict[str, Path] = {}
    if staged.confidence is not None:
        staged.confidence.to_cog(target.confidence, resampling="AVERAGE")
        target.confidence_style.write_text(styles.confidence_qml())
        written.update(confidence=paths.confidence, confidence_style=paths.confidence_style)
    if staged.probabilities is not None:
        staged.probabilities.to_cog(target.probabilities, resampling="AVERAGE")
        written["probabilities"] = paths.probabilities
    if staged.indices is not None:
        staged.indices.to_cog(target.indices, resampling="AVERAGE", predictor="FLOATING_POINT")
        written["indices"] = paths.indices
    target.style.write_text(styles.raster_qml(bundle.classes))
    return written


def _summary(
    scene: Scene,
    bundle: Bundle,
    opts: Options,
    grid: TileGrid,
    valid: int,
    masked: int,
    store: ChunkStore | None = None,
) -> RunSummary:
    """The run's provenance for the stats JSON (the area table is added by summarize), with
    how many chunks ``store`` held from an interrupted run (reused, not recomputed)."""
    with_data = valid + masked
    return RunSummary(
        geoseg_version=__version__,
        source=source_tag(scene.source),
        source_id=scene_identity(scene),
        scene={"kind": scene.kind, **scene.provenance},
        model=ModelRef(name=bundle.spec.name, sha256=bundle.sha256),
        options=result_options(opts, bundle),
        crs=scene.grid.crs.to_string(),
        width=scene.grid.width,
        height=scene.grid.height,
        tile_size=grid.tile,
        overlap=grid.overlap,
        valid_pixels=valid,
        nodata_pixels=scene.grid.width * scene.grid.height - with_data,
        masked_pixels=masked,
        masked_pct=100.0 * masked / max(with_data, 1),
        masks=[m.describe() for m in scene.masks],
        chunks=grid.n_chunk_rows * grid.n_chunk_cols,
        reused_chunks=store.reused if store is not None else 0,
        cloud_mask=scene.cloud_record(),
        warnings=assess(scene, bundle),
    )
