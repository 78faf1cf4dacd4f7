"""``classify``: scene → class COG (+ confidence) → polygons, statistics and styles, atomically.

Everything is written into a hidden staging folder inside the output folder and renamed into place
only when the whole run succeeded: a failed or interrupted run leaves nothing at the final paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pystac

from geoseg import indices
from geoseg._version import __version__
from geoseg.classes import ClassInfo
from geoseg.core.areas import AreaAccumulator, pixel_area_m2, polygon_measures, row_areas_m2
from geoseg.core.polygonize import polygonize, sieve_pixels
from geoseg.dates import raster_date
from geoseg.engine.chunkstore import ChunkStore, file_identity, fingerprint
from geoseg.engine.local import Engine, InProcessEngine, Job, run_chunks
from geoseg.engine.predict import Predictor, resolve_device
from geoseg.errors import GeosegError, InputError, OutputError
from geoseg.io import class_raster, cog, gpkg, stac_item, styles
from geoseg.io.grid import Grid
from geoseg.io.reader import open_scene
from geoseg.io.scene import Scene
from geoseg.models.bundle import Bundle, load_bundle
from geoseg.run.staging import commit, staging
from geoseg.tiling import TileGrid

if TYPE_CHECKING:
    from datetime import date

    import xarray as xr

Progress = Callable[[str, int, int], None]  # (phase, done, total)
ENGINES = ("auto", "inprocess", "local", "dask")
STRIP_PIXELS = 4 * 1024 * 1024


@dataclass
class ClassifyResult:
    """Where a run's outputs are, and its class-area table."""

    out_dir: Path
    classes: Path
    confidence: Path | None
    polygons: Path | None
    stats_csv: Path
    stats_json: Path
    style: Path
    indices: Path | None
    stats: pd.DataFrame
    valid_pixels: int
    total_pixels: int
    timings: dict[str, float] = field(default_factory=dict)
    masked_pixels: int = 0  # pixels with data that a cloud/user mask made nodata
    stac_item: Path | None = None

    @property
    def masked_share(self) -> float:
        """Masked pixels as a share (0–1) of the pixels holding data."""
        return self.masked_pixels / max(self.valid_pixels + self.masked_pixels, 1)

    @property
    def outputs(self) -> list[Path]:
        paths = [self.classes, self.confidence, self.polygons, self.stats_csv, self.stats_json]
        return [p for p in (*paths, self.style, self.indices, self.stac_item) if p is not None]

    def open_classes(self) -> xr.DataArray:
        """The class raster as an xarray DataArray with class names and colours (lazy)."""
        from geoseg.io.xr import open_classes

        return open_classes(self.classes)

    def open_confidence(self) -> xr.DataArray:
        """The confidence raster (percent, NaN = nodata) as an xarray DataArray."""
        from geoseg.io.xr import open_raster

        if self.confidence is None:
            raise OutputError(
                "this run wrote no confidence raster", self.out_dir, "omit --no-confidence"
            )
        return open_raster(self.confidence)

    def open_indices(self) -> xr.DataArray:
        """The index rasters (``band`` coordinate = index names) as an xarray DataArray."""
        from geoseg.io.xr import open_raster

        if self.indices is None:
            raise OutputError("this run wrote no index rasters", self.out_dir, "pass indices")
        return open_raster(self.indices)


@dataclass
class Segmentation:
    """The first stage's outputs on disk and what the later stages need from the run."""

    out_dir: Path
    stem: str
    grid: Grid
    classes: Path
    confidence: Path | None
    indices: Path | None
    style: Path
    class_info: list[ClassInfo]
    model_name: str
    area: AreaAccumulator
    masked_pixels: int
    acquired: date | None  # the scene's date (product metadata, tags or file name)
    stac: bool  # describe the outputs in a STAC item
    summary: dict[str, Any]  # provenance for the stats JSON (source, model, options, grid)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def outputs(self) -> list[Path]:
        return [p for p in (self.classes, self.confidence, self.indices, self.style) if p]


@dataclass
class Vectors:
    """The second stage's GeoPackage and how many polygons each class got."""

    path: Path
    polygons_per_class: list[int]


@dataclass(frozen=True)
class Options:
    tile_size: int | None = None  # default: the bundle's
    overlap: int | None = None  # default: the bundle's
    chunk_size: int = 2048
    batch_size: int = 8
    device: str = "auto"
    min_area_ha: float = 0.05
    simplify_m: float = 0.0
    vectorize: bool = True
    confidence: bool = True
    indices: tuple[str, ...] = ()
    engine: str = "auto"  # auto | inprocess | local | dask (needs dask_address)
    dask_address: str | None = None  # e.g. tcp://scheduler:8786: an existing cluster
    workers: int | None = None  # local cluster size (default: one per core)
    gpu_resources: bool = False  # pin chunk tasks to workers started with --resources GPU=1
    resume: bool = True  # keep finished chunks beside the outputs until the run completes
    stac: bool = True  # write <stem>_item.json, a STAC item describing the outputs


def classify(
    scene: str | Path | Scene,
    out_dir: str | Path = "geoseg-output",
    model: str | Path | Bundle | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    **read_options: Any,
) -> ClassifyResult:
    """Classify a scene and write its outputs into ``out_dir`` (see README for the files).

    ``read_options`` go to :func:`geoseg.io.open_scene` (bands, nodata, offset, scale, mask,
    scl_classes, cloud_mask).

    All or nothing: ``segment``, ``vectorize`` and ``summarize`` run in one staging folder and
    the outputs appear together only when every stage succeeded."""
    scene, bundle, opts = check_inputs(scene, model, options, read_options)
    out = _prepare_out_dir(Path(out_dir))
    report = progress or _no_progress
    with staging(out, scene_stem(scene)) as folder:
        seg = _segment(scene, bundle, opts, out, folder, report)
        vectors = _vectorize(seg, folder, folder, opts, report) if opts.vectorize else None
        result = _summarize(seg, vectors, folder)
        commit(folder, result.outputs)
    return result


def segment(
    scene: str | Path | Scene,
    out_dir: str | Path = "geoseg-output",
    model: str | Path | Bundle | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    **read_options: Any,
) -> Segmentation:
    """First stage of ``classify``: the class (and confidence, index) COGs and their QGIS style,
    with the exact class-area table; written atomically."""
    scene, bundle, opts = check_inputs(scene, model, options, read_options)
    out = _prepare_out_dir(Path(out_dir))
    with staging(out, scene_stem(scene)) as folder:
        seg = _segment(scene, bundle, opts, out, folder, progress or _no_progress)
        commit(folder, seg.outputs)
    return seg


def vectorize(
    seg: Segmentation, options: Options | None = None, progress: Progress | None = None
) -> Vectors:
    """Second stage of ``classify``: polygons of a segmentation's class raster into its
    GeoPackage (sieved and simplified per ``options``), with the QGIS default style."""
    opts = options or Options()
    with staging(seg.out_dir, seg.stem) as folder:
        vectors = _vectorize(seg, seg.out_dir, folder, opts, progress or _no_progress)
        commit(folder, [vectors.path])
    return vectors


def summarize(seg: Segmentation, vectors: Vectors | None = None) -> ClassifyResult:
    """Last stage of ``classify``: the area table as CSV and JSON (and as a table in the
    GeoPackage when there are polygons)."""
    with staging(seg.out_dir, seg.stem) as folder:
        if vectors is not None:
            shutil.copy2(vectors.path, folder / vectors.path.name)
        result = _summarize(seg, vectors, folder)
        written = [result.stats_csv, result.stats_json, result.polygons, result.stac_item]
        commit(folder, [p for p in written if p is not None])
    return result


def check_inputs(
    scene: str | Path | Scene,
    model: str | Path | Bundle | None,
    options: Options | None,
    read_options: Mapping[str, Any],
) -> tuple[Scene, Bundle, Options]:
    """Everything checked before any output is touched: options, scene, model, bands."""
    opts = options or Options()
    for name in opts.indices:
        indices.get(name)
    if opts.engine not in ENGINES:
        raise GeosegError(
            f"unknown engine {opts.engine!r}", "--engine", f"use {', '.join(ENGINES)}"
        )
    if opts.engine == "dask" and not opts.dask_address:
        raise GeosegError(
            "engine dask needs a scheduler address", "--dask-address", "pass tcp://HOST:PORT"
        )
    if not isinstance(scene, Scene):
        scene = open_scene(scene, **read_options)
    bundle = model if isinstance(model, Bundle) else load_bundle(model)
    scene.require(bundle.read_bands + indices.required_bands(opts.indices))
    return scene, bundle, opts


def scene_stem(scene: Scene) -> str:
    """The prefix of a scene's output files."""
    return Path(scene.source).stem.removesuffix(".SAFE") or "scene"


def output_paths(out_dir: Path, stem: str, opts: Options) -> dict[str, Path]:
    """Where a run writes each file: the one place outputs are named (stages, catalogues, flows)."""
    paths = {"classes": out_dir / f"{stem}_classes.tif", "style": out_dir / f"{stem}_classes.qml"}
    if opts.confidence:
        paths["confidence"] = out_dir / f"{stem}_confidence.tif"
    if opts.indices:
        paths["indices"] = out_dir / f"{stem}_indices.tif"
    if opts.vectorize:
        paths["polygons"] = out_dir / f"{stem}.gpkg"
    if opts.stac:
        paths["stac_item"] = out_dir / f"{stem}_item.json"
    paths["stats_csv"] = out_dir / f"{stem}_stats.csv"
    paths["stats_json"] = out_dir / f"{stem}_stats.json"
    return paths


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def _prepare_out_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".geoseg-probe-"):
            pass
    except OSError as exc:
        raise OutputError(
            f"cannot write to the output folder ({exc.strerror or exc})",
            out,
            "choose a writable folder with -o",
        ) from exc
    return out


def source_identity(scene: Scene) -> str:
    """Identity of a scene's files and masks (path, size, mtime; URLs as they are): a rewritten
    input is a new input."""
    files = sorted({s.path for s in scene.bands.values()} | {m.path for m in scene.masks})
    ident = [[file_identity(f) for f in files], [m.describe() for m in scene.masks]]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def _source_id(source: str) -> str:
    """Absolute path of a local input; URLs as given."""
    return source if "://" in source else str(Path(source).resolve())


def result_options(opts: Options, bundle: Bundle) -> dict[str, Any]:
    """The options that change what a run writes (not how fast: engine, chunks, workers)."""
    return {
        "tile_size": opts.tile_size or bundle.spec.tile_size,
        "overlap": bundle.spec.overlap if opts.overlap is None else opts.overlap,
        "indices": list(opts.indices),
        "confidence": opts.confidence,
        "vectorize": opts.vectorize,
        "min_area_ha": opts.min_area_ha,
        "simplify_m": opts.simplify_m,
        "stac": opts.stac,
    }


def _segment(
    scene: Scene,
    bundle: Bundle,
    opts: Options,
    out: Path,
    staging: Path,
    progress: Progress,
) -> Segmentation:
    stem = scene_stem(scene)
    paths = output_paths(out, stem, opts)
    grid = TileGrid.for_chunk_size(
        scene.grid.height,
        scene.grid.width,
        opts.tile_size or bundle.spec.tile_size,
        bundle.spec.overlap if opts.overlap is None else opts.overlap,
        opts.chunk_size,
    )
    classes = bundle.classes
    tags = {
        "GEOSEG_VERSION": __version__,
        "GEOSEG_MODEL": bundle.spec.name,
        "GEOSEG_MODEL_SHA256": bundle.sha256,
        "GEOSEG_SOURCE": _source_id(scene.source),
        "GEOSEG_TILE": f"{grid.tile}/{grid.overlap}",
        **class_raster.tags(classes),
        "GEOSEG_SOURCE_KIND": scene.kind,
        **scene.provenance,
    }
    if scene.masks:
        tags["GEOSEG_MASKS"] = "; ".join(m.describe() for m in scene.masks)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    staged_cls = cog.StagedRaster(
        staging / "classes.stage.tif",
        scene.grid,
        descriptions=["class"],
        tags=tags,
        colormap=class_raster.colormap(classes),
    )
    staged_conf = (
        cog.StagedRaster(
            staging / "confidence.stage.tif",
            scene.grid,
            descriptions=["confidence_pct"],
            tags={**tags, "GEOSEG_UNITS": "max class probability, percent"},
        )
        if opts.confidence
        else None
    )
    staged_idx = (
        cog.StagedRaster(
            staging / "indices.stage.tif",
            scene.grid,
            dtype="float32",
            count=len(opts.indices),
            nodata=float("nan"),
            descriptions=list(opts.indices),
            tags=tags,
        )
        if opts.indices
        else None
    )
    area = AreaAccumulator(scene.grid, len(classes))
    total = len(grid)
    progress("classify", 0, total)
    job = Job(scene, grid, opts.indices)
    store = None
    if opts.resume:
        sources = [s.path for s in scene.bands.values()] + [m.path for m in scene.masks]
        masks = tuple(m.describe() for m in scene.masks)
        key = fingerprint(sources, bundle.sha256, grid, opts.indices, masks)
        store = ChunkStore(out / f".geoseg-chunks-{stem}-{key}", grid)
    with ExitStack() as stack:
        try:
            engine = stack.enter_context(
                _engine(opts, bundle, scene.grid.width * scene.grid.height)
            )
        except GeosegError:  # e.g. no scheduler at that address: nothing to resume
            if store is not None:
                store.remove()
            raise
        worker_s: dict[str, float] = {}
        masked = 0
        for done, res in enumerate(run_chunks(job, engine, store, worker_s), start=1):
            staged_cls.write(res.chunk.core, res.classes)
            if staged_conf is not None:
                staged_conf.write(res.chunk.core, res.confidence)
            if staged_idx is not None and res.extra is not None:
                staged_idx.write(res.chunk.core, res.extra)
            area.add(res.chunk.core, res.classes)
            masked += res.masked
            progress("classify", done, total)
    timings["classify_s"] = time.perf_counter() - t0
    timings.update({f"workers_{k}": v for k, v in worker_s.items()})
    if area.valid_pixels == 0:
        if store is not None:
            store.remove()  # nothing worth resuming
        if masked:
            raise InputError(
                "every pixel holding data is masked (clouds or the --mask raster)",
                scene.source,
                "choose a clearer scene, fewer --scl-classes or another --mask",
            )
        raise InputError(
            "scene holds no valid pixels (all nodata)",
            scene.source,
            "check the nodata value (--nodata) or choose a scene that covers land",
        )

    t1 = time.perf_counter()
    progress("write", 0, 1)
    final_cls = paths["classes"]
    staged_cls.to_cog(staging / final_cls.name)
    class_raster.write_category_names(staging / final_cls.name, classes)
    final_conf = None
    if staged_conf is not None:
        final_conf = paths["confidence"]
        staged_conf.to_cog(staging / final_conf.name, resampling="AVERAGE")
    final_idx = None
    if staged_idx is not None:
        final_idx = paths["indices"]
        staged_idx.to_cog(
            staging / final_idx.name, resampling="AVERAGE", predictor="FLOATING_POINT"
        )
    style = paths["style"]
    (staging / style.name).write_text(styles.raster_qml(classes))
    progress("write", 1, 1)
    timings["write_s"] = time.perf_counter() - t1
    if store is not None:
        store.remove()  # every raster is staged: nothing left to resume
    with_data = area.valid_pixels + masked
    summary = {
        "geoseg_version": __version__,
        "source": tags["GEOSEG_SOURCE"],
        "source_id": source_identity(scene),
        "scene": {"kind": scene.kind, **scene.provenance},
        "model": {"name": bundle.spec.name, "sha256": bundle.sha256},
        "options": result_options(opts, bundle),
        "crs": scene.grid.crs.to_string(),
        "width": scene.grid.width,
        "height": scene.grid.height,
        "tile_size": grid.tile,
        "overlap": grid.overlap,
        "valid_pixels": area.valid_pixels,
        "nodata_pixels": scene.grid.width * scene.grid.height - with_data,
        "masked_pixels": masked,
        "masked_pct": 100.0 * masked / max(with_data, 1),
        "masks": [m.describe() for m in scene.masks],
    }
    return Segmentation(
        out_dir=out,
        stem=stem,
        grid=scene.grid,
        classes=final_cls,
        confidence=final_conf,
        indices=final_idx,
        style=style,
        class_info=list(classes),
        model_name=bundle.spec.name,
        area=area,
        masked_pixels=masked,
        acquired=raster_date(scene.source, {**scene.tags, **scene.provenance}),
        stac=opts.stac,
        summary=summary,
        timings=timings,
    )


#: Scenes of at most this many pixels run in-process when no engine is named: a local
#: cluster's start-up (seconds) and second copy of the model do not pay off below that.
SMALL_SCENE_PIXELS = 4 * 2048 * 2048
#: Below this many cores PyTorch's own threads use the machine as well as worker processes do
#: (2 cores, full scene, two runs: in-process 158 and 193 s, two workers 166 and 177 s;
#: bench/RESULTS.md): not worth a second copy of the model and a cluster's start-up.
LOCAL_CLUSTER_MIN_CORES = 8


@contextmanager
def _engine(opts: Options, bundle: Bundle, n_pixels: int) -> Iterator[Engine]:
    """The engine the options ask for; ``auto``: an existing cluster if an address is given,
    in-process for small scenes, machines with few cores and GPUs, else a local cluster."""
    kind = opts.engine
    if kind == "auto":
        if opts.dask_address:
            kind = "dask"
        elif (
            n_pixels <= SMALL_SCENE_PIXELS
            or (os.cpu_count() or 1) < LOCAL_CLUSTER_MIN_CORES
            or resolve_device(opts.device).type == "cuda"
        ):
            kind = "inprocess"
        else:
            kind = "local"
    if kind == "inprocess":
        yield InProcessEngine(Predictor(bundle, device=opts.device, batch_size=opts.batch_size))
        return
    if kind not in ("local", "dask"):
        raise GeosegError(
            f"unknown engine {kind!r}", "--engine", "use auto, inprocess, local or dask"
        )
    from distributed import Client

    from geoseg.engine.dask import DaskEngine, local_cluster

    resources = {"GPU": 1.0} if opts.gpu_resources else None
    if kind == "dask":
        if not opts.dask_address:
            raise GeosegError(
                "engine dask needs a scheduler address",
                "--dask-address",
                "pass --dask-address tcp://HOST:PORT",
            )
        try:
            client = Client(opts.dask_address, timeout="10s")
        except OSError as exc:
            raise GeosegError(
                f"cannot reach the Dask scheduler ({exc})",
                opts.dask_address,
                "check the address and that the scheduler is running",
            ) from exc
        with client:
            yield DaskEngine(client, bundle, opts.device, opts.batch_size, resources=resources)
        return
    with local_cluster(opts.workers) as cluster, Client(cluster) as client:
        yield DaskEngine(client, bundle, opts.device, opts.batch_size, resources=resources)


def _vectorize(
    seg: Segmentation, src: Path, staging: Path, opts: Options, progress: Progress
) -> Vectors:
    """Polygons from the class raster in ``src`` into a GeoPackage staged in ``staging``."""
    t0 = time.perf_counter()
    classes_path = src / seg.classes.name
    confidence_path = src / seg.confidence.name if seg.confidence else None
    final = output_paths(seg.out_dir, seg.stem, replace(opts, vectorize=True))["polygons"]
    gpkg_path = staging / final.name
    grid = seg.grid
    px_area = pixel_area_m2(grid)
    if px_area is None:  # geographic: the pixel area at the scene centre sets the sieve size
        px_area = float(row_areas_m2(grid, range(grid.height // 2, grid.height // 2 + 1))[0])
    min_px = sieve_pixels(opts.min_area_ha * 1e4, px_area)
    simplify_px = opts.simplify_m / (px_area**0.5) if opts.simplify_m else 0.0
    names = {c.id: c.name for c in seg.class_info}
    counts = [0] * len(seg.class_info)
    # strips of a fixed pixel budget: vectorizing memory does not grow with the scene's width
    strip = min(4096, max(64, STRIP_PIXELS // grid.width))
    total = -(-grid.height // strip)
    progress("vectorize", 0, total)
    wrote = False
    for done, batch in enumerate(
        polygonize(classes_path, confidence_path, min_px, simplify_px, strip), start=1
    ):
        area_m2, perimeter_m = polygon_measures(batch.geometry, grid)
        frame = gpd.GeoDataFrame(
            {
                "class_id": batch.class_id,
                "class_name": [names[int(c)] for c in batch.class_id],
                "area_m2": area_m2,
                "area_ha": area_m2 / 1e4,
                "perimeter_m": perimeter_m,
                "pixels": batch.pixels,
                "confidence": batch.confidence,
            },
            geometry=list(batch.geometry),
            crs=grid.crs.to_wkt(),
        )
        gpkg.append_polygons(gpkg_path, frame)
        wrote = True
        for c in batch.class_id:
            counts[int(c)] += 1
        progress("vectorize", min(done, total), total)
    if not wrote:
        empty = gpd.GeoDataFrame(
            {
                "class_id": [],
                "class_name": [],
                "area_m2": [],
                "area_ha": [],
                "perimeter_m": [],
                "pixels": [],
                "confidence": [],
            },
            geometry=[],
            crs=grid.crs.to_wkt(),
        )
        gpkg.append_polygons(gpkg_path, empty)
    gpkg.write_default_style(
        gpkg_path, gpkg.POLYGON_LAYER, styles.vector_qml(seg.class_info), seg.model_name
    )
    progress("vectorize", total, total)
    seg.timings["vectorize_s"] = time.perf_counter() - t0
    return Vectors(final, counts)


def _summarize(seg: Segmentation, vectors: Vectors | None, staging: Path) -> ClassifyResult:
    """Area table → CSV, JSON (with the run's provenance) and the GeoPackage's stats layer."""
    table = seg.area.table(seg.class_info, vectors.polygons_per_class if vectors else None)
    paths = output_paths(seg.out_dir, seg.stem, Options())
    stats_csv, stats_json = paths["stats_csv"], paths["stats_json"]
    table.to_csv(staging / stats_csv.name, index=False)
    summary = {**seg.summary, "classes": table.to_dict(orient="records")}
    (staging / stats_json.name).write_text(json.dumps(summary, indent=2) + "\n")
    if vectors is not None:
        gpkg.write_table(staging / vectors.path.name, table, gpkg.STATS_LAYER)
    seg.timings["total_s"] = sum(
        seg.timings.get(k, 0.0) for k in ("classify_s", "write_s", "vectorize_s")
    )
    result = ClassifyResult(
        out_dir=seg.out_dir,
        classes=seg.classes,
        confidence=seg.confidence,
        polygons=vectors.path if vectors else None,
        stats_csv=stats_csv,
        stats_json=stats_json,
        style=seg.style,
        indices=seg.indices,
        stats=table,
        valid_pixels=seg.area.valid_pixels,
        total_pixels=seg.grid.width * seg.grid.height,
        timings=seg.timings,
        masked_pixels=seg.masked_pixels,
    )
    if seg.stac:
        result.stac_item = output_paths(seg.out_dir, seg.stem, Options())["stac_item"]
        stac_item.write_item(stac_item_for_run(result, seg), staging / result.stac_item.name)
    return result


def stac_item_for_run(result: ClassifyResult, seg: Segmentation) -> pystac.Item:
    """The item of a ``classify`` run: every output file as an asset, model provenance."""
    outputs: dict[str, tuple[Path | None, tuple[str, ...], str]] = {
        "classes": (result.classes, ("data",), "land-cover classes"),
        "confidence": (result.confidence, ("data", "quality"), "confidence of the class, %"),
        "indices": (result.indices, ("data",), "spectral indices (band descriptions)"),
        "polygons": (result.polygons, ("data",), "class polygons and area table (GeoPackage)"),
        "stats_csv": (result.stats_csv, ("metadata",), "class areas (CSV)"),
        "stats_json": (result.stats_json, ("metadata",), "class areas and run summary (JSON)"),
        "style": (result.style, ("metadata",), "QGIS style of the class raster"),
    }
    return stac_item.build_item(
        result.classes.name.removesuffix("_classes.tif"),
        seg.grid,
        seg.class_info,
        [stac_item.AssetSpec(k, p, r, t) for k, (p, r, t) in outputs.items() if p is not None],
        stats=result.stats,
        when=seg.acquired,
        properties={
            "geoseg:version": __version__,
            "geoseg:model": seg.model_name,
            "geoseg:model_sha256": seg.summary["model"]["sha256"],
            "geoseg:valid_pixels": result.valid_pixels,
            "geoseg:total_pixels": result.total_pixels,
        },
    )
