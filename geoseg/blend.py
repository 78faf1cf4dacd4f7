"""Assemble finished cores from chunks' partial probability sums, in any arrival order.

A core's pixels are seen by tiles of its own chunk and, along its upper and left borders, of the
chunks above, left and above-left. Each arriving :class:`PartialSums` is cut into the pieces that
fall on each core; a core is finished when all chunks overlapping it have arrived. Pieces are added
in chunk order, so the result does not depend on which worker finished first. Only border strips of
neighbours wait in memory, never a full-scene array.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rasterio.windows import Window, intersection

from geoseg.predict import NODATA, ChunkResult, PartialSums
from geoseg.tiling import TileGrid


@dataclass
class _Pending:
    pieces: list[tuple[tuple[int, int], Window, np.ndarray, np.ndarray]] = field(
        default_factory=list
    )
    own: PartialSums | None = None


def _overlaps(a: Window, b: Window) -> bool:
    return (
        a.col_off < b.col_off + b.width
        and b.col_off < a.col_off + a.width
        and a.row_off < b.row_off + b.height
        and b.row_off < a.row_off + a.height
    )


class Assembler:
    def __init__(self, grid: TileGrid) -> None:
        self.grid = grid
        self._pending: dict[tuple[int, int], _Pending] = {}

    def _sources(self, row: int, col: int) -> list[tuple[int, int]]:
        """Chunks whose tiles reach into core ``(row, col)``."""
        core = self.grid.chunk(row, col).core
        return [
            (r, c)
            for r in (row - 1, row)
            for c in (col - 1, col)
            if r >= 0 and c >= 0 and _overlaps(self.grid.chunk(r, c).read, core)
        ]

    def add(self, part: PartialSums) -> list[ChunkResult]:
        """Take one chunk's sums (and ownership: its core is summed in place); return the cores
        that are now complete."""
        me = (part.chunk.row, part.chunk.col)
        finished = []
        for row in (me[0], me[0] + 1):
            for col in (me[1], me[1] + 1):
                if row >= self.grid.n_chunk_rows or col >= self.grid.n_chunk_cols:
                    continue
                core = self.grid.chunk(row, col).core
                if not _overlaps(part.chunk.read, core):
                    continue
                pending = self._pending.setdefault((row, col), _Pending())
                if (row, col) == me:
                    pending.own = part
                else:
                    win = intersection(part.chunk.read, core)
                    r0 = int(win.row_off - part.chunk.read.row_off)
                    c0 = int(win.col_off - part.chunk.read.col_off)
                    sl = np.s_[r0 : r0 + int(win.height), c0 : c0 + int(win.width)]
                    pending.pieces.append(
                        (me, win, part.acc[(slice(None), *sl)].copy(), part.wsum[sl].copy())
                    )
                if pending.own is not None and len(pending.pieces) + 1 == len(
                    self._sources(row, col)
                ):
                    finished.append(self._finish(self._pending.pop((row, col))))
        return finished

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def _finish(self, pending: _Pending) -> ChunkResult:
        own = pending.own
        assert own is not None
        core, read = own.chunk.core, own.chunk.read
        h, w = int(core.height), int(core.width)
        acc = own.acc[:, :h, :w]  # the core is the upper-left part of the chunk's own window
        wsum = own.wsum[:h, :w]
        for _, win, pacc, pwsum in sorted(pending.pieces, key=lambda p: p[0]):
            r0, c0 = int(win.row_off - read.row_off), int(win.col_off - read.col_off)
            sl = np.s_[r0 : r0 + int(win.height), c0 : c0 + int(win.width)]
            acc[(slice(None), *sl)] += pacc
            wsum[sl] += pwsum
        valid = own.valid[:h, :w] & (wsum > 0)
        best = acc.max(axis=0)
        classes = acc.argmax(axis=0).astype(np.uint8)
        with np.errstate(invalid="ignore", divide="ignore"):
            confidence = np.rint(100.0 * best / wsum).astype(np.uint8, copy=False)
        classes[~valid] = NODATA
        confidence[~valid] = NODATA
        extra = own.extra
        return ChunkResult(own.chunk, classes, confidence, extra)
