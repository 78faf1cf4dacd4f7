"""What identifies a run, in one place: its inputs, its finished chunks, its result.

- :func:`source_identity`: the scene's files and masks (a rewritten input is a new input);
- :func:`chunk_fingerprint`: the chunk store's folder (inputs, weights, tiling, extra channels);
- :func:`result_options`: the options that change what a run writes (not how fast);
- :class:`RunSummary`: the stats JSON the summarize stage writes and the catalogue's done-check,
  the flows and the other-scene guard (:func:`geoseg.run.classify.check_outputs`) read back;
- :func:`run_key`: the flows' cache key (inputs, model, result options, output folder).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from geoseg.tiling import TileGrid

if TYPE_CHECKING:
    from geoseg.io.scene import Scene
    from geoseg.models.bundle import Bundle
    from geoseg.run.options import Options


def file_identity(src: str) -> list[object]:
    """Real (symlink-free) path, size and mtime of a file; of the archive for /vsizip/ paths;
    URLs as they are. A file reached through a symlinked folder or a relative path is the same
    input, so the chunk store, the stats JSON, the flows and the catalogue agree on it."""
    if not src.startswith("/vsi"):
        st = os.stat(src)
        return [os.path.realpath(src), st.st_size, st.st_mtime_ns]
    prefix, rest = src.split("/", 2)[1], src.split("/", 2)[2]
    inner = Path(rest)
    for part in (inner, *inner.parents):
        if part.is_file():  # the archive holding the band
            st = part.stat()
            member = inner.relative_to(part).as_posix()
            return [f"/{prefix}/{os.path.realpath(part)}/{member}", st.st_size, st.st_mtime_ns]
    return [src]  # remote (/vsicurl/…): its URL is its identity


def _digest(value: object, length: int) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()[:length]


def source_identity(scene: Scene) -> str:
    """Identity of a scene's files and masks (path, size, mtime; URLs as they are)."""
    files = sorted({s.path for s in scene.bands.values()} | {m.path for m in scene.masks if m.path})
    return _digest([[file_identity(f) for f in files], [m.describe() for m in scene.masks]], 16)


def fingerprint(
    sources: list[str],
    model_sha: str,
    grid: TileGrid,
    extra: tuple[str, ...],
    masks: tuple[str, ...] = (),
    probabilities: bool = False,
) -> str:
    """Identity of a run's chunks: input files (path, size, mtime), weights, tiling, extras,
    masks (a different mask gives different classes) and whether chunks hold probabilities (a
    store without them cannot give the probability raster)."""
    ident = [file_identity(src) for src in sorted(set(sources))]
    tiling: list[object] = [grid.height, grid.width, grid.tile, grid.overlap, grid.chunk_tiles]
    tiling.append(grid.margin)
    if any(grid.phase):  # grids anchored at the scene corner keep their earlier identity
        tiling.append(list(grid.phase))
    # runs without masks or probabilities keep the identity they had before either existed
    optional = [*([list(masks)] if masks else []), *(["probabilities"] if probabilities else [])]
    return _digest([ident, model_sha, *tiling, list(extra), *optional], 16)


def chunk_fingerprint(
    scene: Scene,
    model_sha: str,
    grid: TileGrid,
    extra: tuple[str, ...],
    tta: bool = False,
    probabilities: bool = False,
    precision: str | None = None,
) -> str:
    """The fingerprint of a scene's chunks (its band files and masks); test-time augmentation
    and a reduced precision compute other chunks from the same weights, so they count as
    another model."""
    sources = [s.path for s in scene.bands.values()] + [m.path for m in scene.masks if m.path]
    model = f"{model_sha}+tta" if tta else model_sha
    model += f"+{precision}" if precision else ""
    masks = tuple(m.describe() for m in scene.masks)
    return fingerprint(sources, model, grid, extra, masks, probabilities)


class ResultOptions(BaseModel):
    """The options that change what a run writes (not how fast: engine, chunks, workers)."""

    model_config = ConfigDict(extra="forbid")

    tile_size: int
    overlap: int
    indices: list[str]
    confidence: bool
    vectorize: bool
    # int | float: a whole number stays one, so the stats JSON keeps what was asked for
    min_area_ha: int | float
    simplify_m: int | float
    stac: bool
    tta: bool = False
    # None when off: runs without these keep the stats JSON and run key they had before them
    probabilities: bool | None = None
    quicklook: bool | None = None
    precision: str | None = None  # bf16 or int8; None: fp32 (CUDA: mixed precision)


def result_precision(opts: Options, bundle: Bundle) -> str | None:
    """The reduced precision a run of ``bundle`` uses on this machine (``auto`` resolved), or
    None for full precision (fp32; mixed precision on CUDA, as before precisions existed)."""
    from geoseg.engine.precision import resolve_precision
    from geoseg.engine.predict import resolve_device

    device = resolve_device(opts.compute.device).type
    used = resolve_precision(opts.compute.precision, device, bundle)
    return None if used in ("fp32", "amp") else used


def result_options(opts: Options, bundle: Bundle) -> ResultOptions:
    """The result options of a run of ``bundle``: the bundle's tiling where none was asked for."""
    tile, overlap = opts.tiling.effective(bundle.spec.tile_size, bundle.spec.overlap)
    output = opts.output
    return ResultOptions(
        tile_size=tile,
        overlap=overlap,
        indices=list(output.indices),
        confidence=output.confidence,
        vectorize=output.vectorize,
        min_area_ha=output.min_area_ha,
        simplify_m=output.simplify_m,
        stac=output.stac,
        tta=opts.tiling.tta,
        probabilities=output.probabilities or None,
        quicklook=output.quicklook or None,
        precision=result_precision(opts, bundle),
    )


def run_key(source_id: str, model_sha: str, options: ResultOptions, out_dir: Path) -> str:
    """Identity of a run's result in a folder: what the flows' task cache is keyed on."""
    dumped = options.model_dump(exclude_none=True)
    return _digest([source_id, model_sha, dumped, str(out_dir)], 24)


class ModelRef(BaseModel):
    name: str
    sha256: str


class ClassArea(BaseModel):
    """A row of the area table (``polygons`` only when the run drew polygons)."""

    class_id: int
    class_name: str
    color: str
    pixels: int
    area_m2: float
    area_ha: float
    share_pct: float
    polygons: int | None = None


class RunSummary(BaseModel):
    """The stats JSON: a run's provenance, result options, grid, pixel counts and area table."""

    geoseg_version: str
    source: str
    source_id: str
    scene: dict[str, Any]  # kind and the product's provenance facts
    model: ModelRef
    options: ResultOptions
    crs: str
    width: int
    height: int
    tile_size: int
    overlap: int
    valid_pixels: int
    nodata_pixels: int
    masked_pixels: int
    masked_pct: float
    masks: list[str]
    #: how clouds were masked: method (scl, csmask, both, none), detector, cloud_pct, shadow_pct
    cloud_mask: dict[str, str | float] | None = None
    warnings: list[str] = []  # what the model may not know about this input (geoseg.run.domain)
    chunks: int = 0  # chunks of the scene's tiling
    reused_chunks: int = 0  # of those, finished by an interrupted run and reused, not recomputed
    classes: list[ClassArea] = []

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> RunSummary | None:
        """The summary in ``path``; None when it is missing or not a summary of this version."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None

    def same_inputs(self, source_id: str, model_sha: str) -> bool:
        """Whether this run classified the same inputs with the same model."""
        return (self.source_id, self.model.sha256) == (source_id, model_sha)

    def same_scene(self, source_id: str, source: str) -> bool:
        """Whether this run classified the same scene: the same inputs, or the same input path
        (a rerun with other masks, or of the file rewritten in place, replaces its outputs)."""
        return self.source_id == source_id or self.source == source

    def areas_ha(self) -> dict[str, float]:
        return {c.class_name: c.area_ha for c in self.classes}
