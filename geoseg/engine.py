"""Run a scene's chunks through a Predictor and hand each result to one writer.

In-process engine: a reader thread prepares the next chunks (read, indices, normalisation — GDAL
and numpy release the GIL) while the model runs on the current one, with a bounded number of
chunks in flight so memory depends on chunk size, never on scene size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from geoseg import indices
from geoseg.blend import Assembler, ChunkOutput, settle
from geoseg.io.scene import Scene
from geoseg.predict import ChunkResult, PartialSums, Predictor
from geoseg.tiling import Chunk, TileGrid


@dataclass(frozen=True)
class Prepared:
    chunk: Chunk
    x: np.ndarray  # model input over chunk.read
    valid: np.ndarray
    extra: np.ndarray | None  # requested index channels over the chunk core (float32)


def prepare(
    scene: Scene, predictor: Predictor, chunk: Chunk, extra_indices: Sequence[str] = ()
) -> Prepared:
    """Read a chunk's window once and derive model input and any extra index channels."""
    names = predictor.bundle.read_bands
    names += [b for b in indices.required_bands(extra_indices) if b not in names]
    reflectance, valid = scene.read(chunk.read, names)
    x = predictor.features(reflectance[: len(predictor.bundle.read_bands)], valid)
    extra = None
    if extra_indices:
        r0 = int(chunk.core.row_off - chunk.read.row_off)
        c0 = int(chunk.core.col_off - chunk.read.col_off)
        core = np.s_[r0 : r0 + int(chunk.core.height), c0 : c0 + int(chunk.core.width)]
        named = {n: reflectance[i][core] for i, n in enumerate(names)}
        extra = indices.compute(extra_indices, named, valid[core])
        extra[:, ~valid[core]] = np.nan
    return Prepared(chunk, x, valid, extra)


def predict_prepared(predictor: Predictor, grid: TileGrid, prepared: Prepared) -> ChunkOutput:
    """Model, blend and settle one prepared chunk (what a worker does after reading)."""
    chunk, valid = prepared.chunk, prepared.valid
    if not valid.any():  # nothing to see: skip the model entirely
        zeros = np.zeros((predictor.n_classes, *valid.shape), dtype=np.float32)
        part = PartialSums(chunk, zeros, zeros[0].copy(), valid, prepared.extra)
    else:
        part = predictor.predict_chunk(prepared.x, valid, grid, chunk)
        part = PartialSums(chunk, part.acc, part.wsum, part.valid, prepared.extra)
    return settle(part, grid)


def run_chunks(
    scene: Scene,
    predictor: Predictor,
    grid: TileGrid,
    extra_indices: Sequence[str] = (),
    prefetch: int = 2,
) -> Iterator[ChunkResult]:
    """Yield finished cores as they complete, reading ahead ``prefetch`` chunks."""
    pending: deque[Future[Prepared]] = deque()
    assembler = Assembler(grid)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoseg-read") as reader:
        try:
            for chunk in grid.chunks():
                pending.append(reader.submit(prepare, scene, predictor, chunk, extra_indices))
                if len(pending) > prefetch:
                    part = predict_prepared(predictor, grid, pending.popleft().result())
                    yield from assembler.add(part)
            while pending:
                part = predict_prepared(predictor, grid, pending.popleft().result())
                yield from assembler.add(part)
        finally:
            for fut in pending:
                fut.cancel()
