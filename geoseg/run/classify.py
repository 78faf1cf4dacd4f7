"""``classify``: scene → class COG (+ confidence) → polygons, statistics and styles, atomically.

Everything is written into a hidden staging folder inside the output folder and renamed into place
only when the whole run succeeded: a failed or interrupted run leaves nothing at the final paths.
The stages live in their own modules (:mod:`~geoseg.run.segment`, :mod:`~geoseg.run.polygons`,
:mod:`~geoseg.run.summarize`); this module checks the inputs and runs them in a staging folder.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoseg import indices
from geoseg.errors import InputError, OutputError
from geoseg.io.read_options import ReadOptions
from geoseg.io.scene import Scene
from geoseg.models.bundle import Bundle, load_bundle
from geoseg.run.domain import assess
from geoseg.run.identity import RunSummary, source_identity
from geoseg.run.options import Options
from geoseg.run.paths import RunPaths
from geoseg.run.polygons import PolygonsBesideRasters, run_vectorize
from geoseg.run.results import ClassifyResult, Progress, Segmentation, Vectors, no_progress
from geoseg.run.segment import run_segment, source_tag
from geoseg.run.staging import commit, staging
from geoseg.run.summarize import run_summarize

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "ClassifyResult",
    "Options",
    "Progress",
    "ReadOptions",
    "Segmentation",
    "Vectors",
    "check_inputs",
    "check_outputs",
    "classify",
    "segment",
    "summarize",
    "vectorize",
]


def classify(
    scene: str | Path | Scene | xr.DataArray,
    out_dir: str | Path = "geoseg-output",
    model: str | Path | Bundle | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    read: ReadOptions | None = None,
    **read_options: Any,
) -> ClassifyResult:
    """Classify a scene and write its outputs into ``out_dir`` (see README for the files).

    ``read`` (or the same options as keywords: bands, nodata, offset, scale, mask, keep,
    scl_classes, cloud_mask) says how :func:`geoseg.io.open_scene` reads the scene. Outputs of
    another scene with the same names in ``out_dir`` are refused unless ``options.overwrite``.

    All or nothing: ``segment``, ``vectorize`` and ``summarize`` run in one staging folder and
    the outputs appear together only when every stage succeeded."""
    scene, bundle, opts = check_inputs(
        scene, model, options, ReadOptions.build(read, **read_options)
    )
    paths = _target(out_dir, scene, opts)
    report = progress or no_progress
    with staging(paths.out_dir, paths.stem) as folder, ExitStack() as stack:
        polygons = None
        if opts.output.vectorize:  # traced while the COGs are written
            beside = PolygonsBesideRasters(
                scene.grid,
                list(bundle.classes),
                bundle.spec.name,
                paths.polygons,
                folder,
                opts.output,
                report,
            )
            polygons = stack.enter_context(beside)
        start = polygons.start if polygons is not None else None
        seg = run_segment(scene, bundle, opts, paths, folder, report, after_model=start)
        vectors = polygons.result(seg.timings) if polygons is not None else None
        result = run_summarize(seg, vectors, folder)
        commit(folder, result.outputs)
    return result


def segment(
    scene: str | Path | Scene | xr.DataArray,
    out_dir: str | Path = "geoseg-output",
    model: str | Path | Bundle | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    read: ReadOptions | None = None,
    **read_options: Any,
) -> Segmentation:
    """First stage of ``classify``: the class (and confidence, index) COGs and their QGIS style,
    with the exact class-area table; written atomically."""
    scene, bundle, opts = check_inputs(
        scene, model, options, ReadOptions.build(read, **read_options)
    )
    paths = _target(out_dir, scene, opts)
    with staging(paths.out_dir, paths.stem) as folder:
        seg = run_segment(scene, bundle, opts, paths, folder, progress or no_progress)
        commit(folder, seg.outputs)
    return seg


def vectorize(
    seg: Segmentation, options: Options | None = None, progress: Progress | None = None
) -> Vectors:
    """Second stage of ``classify``: polygons of a segmentation's class raster into its
    GeoPackage (sieved and simplified per ``options``), with the QGIS default style."""
    output = Options.from_mapping(options).output
    with staging(seg.out_dir, seg.stem) as folder:
        vectors = run_vectorize(seg, seg.out_dir, folder, output, progress or no_progress)
        commit(folder, [vectors.path])
    return vectors


def summarize(seg: Segmentation, vectors: Vectors | None = None) -> ClassifyResult:
    """Last stage of ``classify``: the area table as CSV and JSON (and as a table in the
    GeoPackage when there are polygons)."""
    with staging(seg.out_dir, seg.stem) as folder:
        if vectors is not None:
            shutil.copy2(vectors.path, folder / vectors.path.name)
        result = run_summarize(seg, vectors, folder)
        written = [result.stats_csv, result.stats_json, result.polygons, result.stac_item]
        commit(folder, [p for p in written if p is not None])
    return result


def check_inputs(
    scene: str | Path | Scene | xr.DataArray,
    model: str | Path | Bundle | None,
    options: Options | Mapping[str, Any] | None = None,
    read: ReadOptions | Mapping[str, Any] | None = None,
) -> tuple[Scene, Bundle, Options]:
    """Everything checked before any output is touched: the options (against the bundle's
    tiling too) before the scene is opened, then the scene and its bands."""
    opts = Options.from_mapping(options)
    bundle = model if isinstance(model, Bundle) else load_bundle(model)
    opts.tiling.check_against(*opts.tiling.effective(bundle.spec.tile_size, bundle.spec.overlap))
    if not isinstance(scene, Scene):
        given = ReadOptions.build(read if isinstance(read, ReadOptions) else dict(read or {}))
        path, bands = _scene_path(scene)
        if bands is not None and given.bands is None:  # the array's band names
            given = ReadOptions.build(given, bands=bands)
        scene = given.open(path)
    scene.require(bundle.read_bands + indices.required_bands(opts.output.indices))
    assess(scene, bundle)  # implausible reflectance stops here; warnings go to the summary
    return scene, bundle, opts


def _scene_path(scene: object) -> tuple[str | Path, dict[str, tuple[str | None, int]] | None]:
    """A path as given; an xarray DataArray as the file it was read from, with its band names
    (:func:`geoseg.io.xr.file_of`); anything else refused in one line."""
    if isinstance(scene, str | Path):
        return scene, None
    if type(scene).__module__.split(".")[0] == "xarray":
        from geoseg.io.xr import file_of

        return file_of(scene)
    raise InputError(
        f"cannot classify a {type(scene).__name__}",
        "scene",
        "pass a path (GeoTIFF, band folder, SAFE, zip, STAC item), a geoseg.open_scene() scene "
        "or an xarray DataArray read with rioxarray.open_rasterio",
    )


def check_outputs(paths: RunPaths, scene: Scene, overwrite: bool = False) -> None:
    """Refuse to replace the outputs of another scene that have the same names (its stats JSON
    records other inputs at another path), unless ``overwrite``: two scenes of one name (e.g. the
    same file name in two folders) must not silently overwrite each other in one folder. A rerun
    of the same scene, with other options or masks, replaces its outputs as before."""
    summary = None if overwrite else RunSummary.load(paths.stats_json)
    if summary is None or summary.same_scene(source_identity(scene), source_tag(scene.source)):
        return
    raise OutputError(
        f"outputs named {paths.stem}* here are of another scene, {summary.source}",
        paths.out_dir,
        "choose another output folder (-o), or replace them with --overwrite "
        "(Options(overwrite=True))",
    )


def _target(out_dir: str | Path, scene: Scene, opts: Options) -> RunPaths:
    """The run's output paths, checked (another scene's outputs) before the folder is made."""
    paths = RunPaths.for_scene(Path(out_dir), scene)
    check_outputs(paths, scene, opts.output.overwrite)
    _prepare_out_dir(paths.out_dir)
    return paths


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
