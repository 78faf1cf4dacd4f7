"""One tile grid anchored to the CRS, chunks as whole blocks of tiles, and the blend window.

Tiles start every ``stride = tile - overlap`` pixels from ``margin + phase`` pixels above and
left of the scene's upper-left corner, and the grid reaches ``margin`` pixels past its lower and
right edges. ``phase`` (:func:`crs_phase`) puts tile origins at the same place in the CRS
whatever the scene's extent, so a sub-crop or an ``--aoi`` run sees the very tiles of the full
scene wherever both exist: a network's output moves with its input's position modulo its 32-px
stride and within a tile (on the Beirut crop, a sub-crop's interior agreed with the full run on
99.22 % of pixels at a random offset, 99.99 % with tiles in place; bench/shift_check.py).
Around the scene:
no scene pixel lies on the outer border of every tile that sees it, where a network knows least
(the readers fill the margin by mirroring the scene). Windows are in scene pixel coordinates, so
those of the first and last chunks reach outside the scene. Chunk
``(a, b)`` owns the ``k × k`` block of tiles starting at tile ``(a·k, b·k)`` and runs each of them
exactly once; its *core* is the ``k·stride`` square where those tiles start. Pixels near a core's
upper/left border are also seen by tiles of the chunks above/left, so a core is finished by adding
their partial sums (see :mod:`geoseg.core.blend`). Every pixel thus sums the same tiles with the
same weights however the scene is cut into chunks, which keeps the class raster independent of
chunking.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
from affine import Affine
from rasterio.windows import Window

#: Pixels of a strip that a whole-raster pass (polygons, zonal statistics, sampling) reads at once:
#: 4 Mpx keeps such passes at tens of MB whatever the raster's width.
STRIP_PIXELS = 4 * 1024 * 1024
#: Strips for polygons are larger: a region crossing strip borders is traced in parts and unioned
#: at the end, and fewer borders mean fewer parts (a 10240² class raster of 97,350 polygons:
#: 36 CPU s in strips of 1457 rows against 44 CPU s in strips of 382 rows).
POLYGON_STRIP_PIXELS = 4 * STRIP_PIXELS


def polygon_strip_rows(width: int) -> int:
    """Rows of one polygon strip of a raster ``width`` pixels wide (64 to 4096)."""
    return min(4096, max(64, POLYGON_STRIP_PIXELS // width))


#: GDAL's block cache defaults to 5 % of RAM and fills as windows are read or written: capped so
#: memory does not grow with the scene (every run and whole-raster pass sets it). In bytes:
#: rasterio hands GDAL_CACHEMAX to GDALSetCacheMax64 (until 2026-11-30 a value of 256 meant 256
#: bytes, no cache at all). Small on purpose: each chunk reads its window once, so a cache only
#: saves re-decoding the blocks a neighbouring chunk shares, and that needs a whole chunk's
#: blocks (4096² scene: 256 MiB bought 0.9 s of reading for 230 MB more peak RSS).
GDAL_CACHE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Chunk:
    """A block of tiles: ``extent`` (its tiles; may pass the scene edge) is run, ``core`` is the
    part of the output it finishes once its upper/left neighbours' overlaps are added."""

    row: int
    col: int
    core: Window
    extent: Window
    read: Window  # the part of ``extent`` inside the scene: what a worker reads
    tile_rows: range
    tile_cols: range


@dataclass(frozen=True)
class TileGrid:
    height: int
    width: int
    tile: int = 512
    overlap: int = 64
    chunk_tiles: int = 4
    margin: int = 0
    phase: tuple[int, int] = (0, 0)  # more rows, columns of grid above and left (< stride)

    def __post_init__(self) -> None:
        if self.tile < 32 or self.tile % 32:
            raise ValueError(f"tile size must be a multiple of 32 and ≥ 32, got {self.tile}")
        if not 0 <= self.overlap <= self.tile // 2:
            raise ValueError(f"overlap must be between 0 and tile/2, got {self.overlap}")
        if self.chunk_tiles < 1:
            raise ValueError("chunk_tiles must be ≥ 1")
        if not 0 <= self.margin < self.tile:
            raise ValueError(f"margin must be between 0 and the tile size, got {self.margin}")
        if not all(0 <= p < self.stride for p in self.phase):
            raise ValueError(f"phase must be between 0 and the stride, got {self.phase}")

    @classmethod
    def for_chunk_size(
        cls,
        height: int,
        width: int,
        tile: int,
        overlap: int,
        chunk_size: int,
        transform: Affine | None = None,
    ) -> TileGrid:
        """Grid whose chunk cores are about ``chunk_size`` pixels wide (whole strides), with a
        margin of ``overlap`` pixels (a quarter tile without overlap): scene edge pixels then sit
        where a tile's blend weight is full, like every other pixel. With the scene's
        ``transform``, tiles are anchored to the CRS (:func:`crs_phase`)."""
        stride = tile - overlap
        k = max(1, round(chunk_size / stride))
        phase = crs_phase(transform, stride) if transform is not None else (0, 0)
        return cls(height, width, tile, overlap, k, edge_margin(tile, overlap), phase)

    @property
    def stride(self) -> int:
        return self.tile - self.overlap

    def origin(self, index: int, axis: int = 0) -> int:
        """Where tile row (``axis`` 0) or column (1) ``index`` starts, in scene pixels (negative
        in the margin)."""
        return index * self.stride - self.margin - self.phase[axis]

    @property
    def n_tile_rows(self) -> int:
        reach = self.height + 2 * self.margin + self.phase[0] - self.overlap
        return max(1, math.ceil(reach / self.stride))

    @property
    def n_tile_cols(self) -> int:
        reach = self.width + 2 * self.margin + self.phase[1] - self.overlap
        return max(1, math.ceil(reach / self.stride))

    @property
    def core_size(self) -> int:
        return self.chunk_tiles * self.stride

    @property
    def n_chunk_rows(self) -> int:
        return math.ceil(self.n_tile_rows / self.chunk_tiles)

    @property
    def n_chunk_cols(self) -> int:
        return math.ceil(self.n_tile_cols / self.chunk_tiles)

    def __len__(self) -> int:
        return self.n_chunk_rows * self.n_chunk_cols

    def _span(
        self, index: int, n_chunks: int, n_tiles: int, size: int, axis: int
    ) -> tuple[range, int, int]:
        """Owned tiles and the core's [start, stop) along one axis."""
        k = self.chunk_tiles
        tiles = range(index * k, min((index + 1) * k, n_tiles))
        start = self.origin(index * k, axis)
        stop = size + self.margin if index == n_chunks - 1 else self.origin((index + 1) * k, axis)
        return tiles, start, stop

    def chunk(self, row: int, col: int) -> Chunk:
        trows, r0, r1 = self._span(row, self.n_chunk_rows, self.n_tile_rows, self.height, 0)
        tcols, c0, c1 = self._span(col, self.n_chunk_cols, self.n_tile_cols, self.width, 1)
        er1 = self.origin(trows.stop - 1, 0) + self.tile
        ec1 = self.origin(tcols.stop - 1, 1) + self.tile
        bottom, right = self.height + self.margin, self.width + self.margin
        return Chunk(
            row,
            col,
            core=Window(c0, r0, c1 - c0, r1 - r0),
            extent=Window(c0, r0, ec1 - c0, er1 - r0),
            read=Window(c0, r0, min(ec1, right) - c0, min(er1, bottom) - r0),
            tile_rows=trows,
            tile_cols=tcols,
        )

    def chunks(self) -> Iterator[Chunk]:
        for r in range(self.n_chunk_rows):
            for c in range(self.n_chunk_cols):
                yield self.chunk(r, c)

    def in_scene(self, window: Window) -> tuple[Window, tuple[slice, slice]] | None:
        """The part of ``window`` inside the scene, and where it lies in an array covering
        ``window``; None when none of it does (a core wholly in the margin)."""
        r0, c0 = max(int(window.row_off), 0), max(int(window.col_off), 0)
        r1 = min(int(window.row_off + window.height), self.height)
        c1 = min(int(window.col_off + window.width), self.width)
        if r1 <= r0 or c1 <= c0:
            return None
        dr, dc = r0 - int(window.row_off), c0 - int(window.col_off)
        local = (slice(dr, dr + r1 - r0), slice(dc, dc + c1 - c0))
        return Window(c0, r0, c1 - c0, r1 - r0), local


def crs_phase(transform: Affine, stride: int) -> tuple[int, int]:
    """Rows and columns to start the tile grid earlier so that tiles begin where they would in
    any other scene on the same pixel lattice of the CRS: the scene's corner in whole pixels
    from the CRS origin, modulo ``stride``. (0, 0) for rotated or sheared grids."""
    if transform.b or transform.d or not transform.a or not transform.e:
        return (0, 0)
    return round(transform.f / transform.e) % stride, round(transform.c / transform.a) % stride


def edge_margin(tile: int, overlap: int) -> int:
    """How far the tile grid reaches past the scene: the overlap (a quarter tile without one),
    so edge pixels sit where a tile's blend weight is full."""
    return overlap or tile // 4


def mirror(start: int, length: int, size: int) -> np.ndarray:
    """Indices into ``range(size)`` of ``length`` positions from ``start``, positions outside
    reflected at the edges (``… 1 0 | 0 1 … n-1 | n-1 n-2 …``), repeating for long reaches."""
    idx = np.arange(start, start + length) % (2 * size)
    return np.where(idx < size, idx, 2 * size - 1 - idx)


@cache
def blend_window(tile: int, overlap: int) -> np.ndarray:
    """Separable weights that taper over the overlap and sum to 1 across neighbouring tiles.

    A squared-sine ramp over ``overlap`` pixels on each side and 1 in between: where two tiles
    overlap, their weights add up to exactly 1, so blending never darkens or favours a tile and
    leaves no seam. Weights are > 0 everywhere so scene edges, seen by one tile, stay covered.
    """
    ramp = np.ones(tile, dtype=np.float64)
    if overlap:
        u = (np.arange(overlap) + 0.5) / overlap
        ramp[:overlap] = np.sin(0.5 * np.pi * u) ** 2
        ramp[tile - overlap :] = ramp[:overlap][::-1]
    w = np.outer(ramp, ramp).astype(np.float32)
    w.setflags(write=False)
    return w
