"""Run a scene's chunks and hand finished cores to one writer.

A :class:`Job` is everything a worker needs for any chunk (picklable: the Scene re-opens its files
where it lands). Engines turn chunk indices into :class:`ChunkOutput` s — in this process with a
read-ahead thread (:class:`InProcessEngine`), or on Dask workers (:mod:`geoseg.engine.dask`).
:func:`run_chunks` is the single writer's loop: it reuses chunks kept in a :class:`ChunkStore`,
runs the missing ones, stores each as it arrives and releases cores through the Assembler.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import rasterio

from geoseg import indices
from geoseg.classes import NODATA
from geoseg.core.blend import Assembler, ChunkOutput, ChunkResult, PartialSums, settle
from geoseg.engine.allocator import pin_mmap_threshold
from geoseg.engine.chunkstore import ChunkStore
from geoseg.engine.predict import Predictor
from geoseg.io.scene import Scene
from geoseg.tiling import GDAL_CACHE_BYTES, Chunk, TileGrid

ChunkKey = tuple[int, int]


@dataclass(frozen=True)
class Job:
    scene: Scene
    grid: TileGrid
    extra_indices: tuple[str, ...] = ()
    probabilities: bool = False  # settle every class's percentage too (the probability COG)
    #: the model's class count: chunks outside an area of interest are then not run but
    #: settled empty (0: unknown, every chunk runs)
    n_classes: int = 0


@dataclass(frozen=True)
class Prepared:
    chunk: Chunk
    x: np.ndarray  # model input over chunk.extent
    valid: np.ndarray  # over chunk.read
    extra: np.ndarray | None  # requested index channels over the chunk core (float32)
    seconds: dict[str, float]
    masked: np.ndarray | None = None  # cloud/user mask over chunk.read (True = masked)


class Engine(Protocol):
    def outputs(self, job: Job, todo: Sequence[ChunkKey]) -> Iterator[ChunkOutput]:
        """Compute the chunks in ``todo``, yielding each as it completes (any order)."""
        ...


def prepare(
    scene: Scene, predictor: Predictor, chunk: Chunk, extra_indices: Sequence[str] = ()
) -> Prepared:
    """Read a chunk's window once and derive model input and any extra index channels.

    The model's bands are read straight into the model input and normalised there; bands only
    the indices need sit in front of them in the same buffer, so nothing is copied."""
    spec = predictor.bundle.spec
    names = predictor.bundle.read_bands
    names += [b for b in indices.required_bands(extra_indices) if b not in names]
    order = [*names[len(spec.bands) :], *spec.bands]  # ... then the index channels
    n_other = len(order) - len(spec.bands)
    eh, ew = int(chunk.extent.height), int(chunk.extent.width)
    buf = np.empty((len(order) + len(spec.indices), eh, ew), dtype=np.float32)
    t0 = time.perf_counter()
    # the whole extent: tiles reaching past the scene (or its margin) see the scene mirrored
    reflectance, seen, inside = scene.read_mirrored(chunk.extent, order, out=buf[: len(order)])
    t1 = time.perf_counter()
    named = dict(zip(order, reflectance, strict=True))
    rh, rw = int(chunk.read.height), int(chunk.read.width)
    valid = (seen & inside)[:rh, :rw]
    extra = None
    if extra_indices:  # from the raw reflectance, before it is normalised in place
        h, w = int(chunk.core.height), int(chunk.core.width)
        core = {n: band[:h, :w] for n, band in named.items()}
        extra = indices.compute(extra_indices, core, valid[:h, :w])
        extra[:, ~valid[:h, :w]] = np.nan
    x = predictor.complete_features(buf[n_other:], named, seen)
    seconds = {"read_s": t1 - t0, "indices_s": time.perf_counter() - t1}
    return Prepared(chunk, x, valid, extra, seconds, scene.read_mask_mirrored(chunk.read))


def predict_prepared(
    predictor: Predictor, grid: TileGrid, prepared: Prepared, probabilities: bool = False
) -> ChunkOutput:
    """Model, blend and settle one prepared chunk (what a worker does after reading)."""
    chunk, valid = prepared.chunk, prepared.valid
    t0 = time.perf_counter()
    if not valid.any():  # nothing to see: skip the model entirely
        zeros = np.zeros((predictor.n_classes, *valid.shape), dtype=np.float32)
        part = PartialSums(chunk, zeros, zeros[0].copy(), valid)
    else:
        part = predictor.predict_chunk(prepared.x, valid, grid, chunk)
    seconds = {**prepared.seconds, "inference_s": time.perf_counter() - t0}
    part = replace(part, extra=prepared.extra)
    masked = 0
    if prepared.masked is not None:
        # the model saw masked pixels as context; only their outputs become nodata
        h, w = int(chunk.core.height), int(chunk.core.width)
        core = prepared.masked[:h, :w]
        masked = int((core & valid[:h, :w]).sum())
        part = replace(part, valid=valid & ~prepared.masked)
        if prepared.extra is not None:
            prepared.extra[:, core] = np.nan  # the same array as part.extra
    return replace(settle(part, grid, seconds, probabilities), masked=masked)


def process_chunk(job: Job, predictor: Predictor, key: ChunkKey) -> ChunkOutput:
    """One chunk start to finish, as a Dask worker runs it (bounded GDAL block cache)."""
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        prepared = prepare(job.scene, predictor, job.grid.chunk(*key), job.extra_indices)
    return predict_prepared(predictor, job.grid, prepared, job.probabilities)


class InProcessEngine:
    """Chunks in this process: a reader thread prepares the next ``prefetch`` chunks (GDAL and
    numpy release the GIL) while the model runs on the current one.

    One is enough: reading a chunk takes a seventh of its inference on a CPU, and each chunk
    waiting costs ~250 MB (peak RSS 2.68 → 2.44 GB for 2 → 1, bench/RESULTS.md). Freed chunk
    memory goes back to the system (:mod:`geoseg.engine.allocator`)."""

    def __init__(self, predictor: Predictor, prefetch: int = 1) -> None:
        self.predictor = predictor
        self.prefetch = prefetch
        pin_mmap_threshold()

    def outputs(self, job: Job, todo: Sequence[ChunkKey]) -> Iterator[ChunkOutput]:
        pending: deque[Future[Prepared]] = deque()
        grid, pred, probs = job.grid, self.predictor, job.probabilities
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoseg-read") as reader:
            try:
                for key in todo:
                    chunk = grid.chunk(*key)
                    pending.append(
                        reader.submit(prepare, job.scene, pred, chunk, job.extra_indices)
                    )
                    if len(pending) > self.prefetch:
                        yield predict_prepared(pred, grid, pending.popleft().result(), probs)
                while pending:
                    yield predict_prepared(pred, grid, pending.popleft().result(), probs)
            finally:
                for fut in pending:
                    fut.cancel()


def run_chunks(
    job: Job,
    engine: Engine,
    store: ChunkStore | None = None,
    seconds: dict[str, float] | None = None,
) -> Iterator[ChunkResult]:
    """Yield every finished core once; chunks already in ``store`` are not recomputed.

    ``seconds`` (if given) sums the workers' time per phase (read, indices, inference).
    """
    grid = job.grid
    assembler = Assembler(grid)
    keys = [(r, c) for r in range(grid.n_chunk_rows) for c in range(grid.n_chunk_cols)]
    stored = store.done() if store is not None else set()
    outside = {k for k in keys if k not in stored and outside_area(job, k)}
    for key in keys:
        if key in stored:
            yield from assembler.add(store.load(*key))  # type: ignore[union-attr]
        elif key in outside:
            yield from assembler.add(empty_output(job, key))
    for out in engine.outputs(job, [k for k in keys if k not in stored | outside]):
        if seconds is not None:
            for phase, value in out.seconds.items():
                seconds[phase] = seconds.get(phase, 0.0) + value
        if store is not None:
            store.save(out)
        yield from assembler.add(out)
    if assembler.waiting:
        raise RuntimeError(f"{assembler.waiting} chunk cores were never completed")


def outside_area(job: Job, key: ChunkKey) -> bool:
    """Whether an area of interest leaves nothing to keep anywhere in the chunk's extent (its
    tiles and their halo): every output of its tiles would be masked, so it is neither read
    nor run (its neighbours' pixels it reaches are outside the area too)."""
    if not job.n_classes:
        return False
    transform = job.scene.grid.transform
    extent = job.grid.chunk(*key).extent
    return any(m.excludes(transform, extent) for m in job.scene.masks)


def empty_output(job: Job, key: ChunkKey) -> ChunkOutput:
    """The output of a chunk outside the area of interest: nodata, its scene pixels masked."""
    chunk = job.grid.chunk(*key)
    shape = (int(chunk.read.height), int(chunk.read.width))
    acc = np.zeros((job.n_classes, *shape), dtype=np.float32)
    part = PartialSums(chunk, acc, acc[0].copy(), np.zeros(shape, dtype=bool))
    if job.extra_indices:
        core = (len(job.extra_indices), int(chunk.core.height), int(chunk.core.width))
        part = replace(part, extra=np.full(core, np.nan, dtype=np.float32))
    placed = job.grid.in_scene(chunk.core)
    masked = 0 if placed is None else int(placed[0].height * placed[0].width)
    return replace(settle(part, job.grid, {}, job.probabilities), masked=masked)


def collect(results: Iterable[ChunkResult], grid: TileGrid) -> np.ndarray:
    """The class raster of small scenes in memory (tests, notebooks)."""
    out = np.full((grid.height, grid.width), NODATA, dtype=np.uint8)
    for res in results:
        placed = grid.in_scene(res.chunk.core)
        if placed is not None:
            win, local = placed
            rows = slice(win.row_off, win.row_off + win.height)
            out[rows, win.col_off : win.col_off + win.width] = res.classes[local]
    return out
