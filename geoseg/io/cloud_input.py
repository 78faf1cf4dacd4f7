"""The cloud detector's input (:mod:`geoseg.io.clouds`): a scene's bands averaged onto 30 m cells,
one strip of tiles at a time.

Averaging is the costliest step after the network: GDAL's warper took 0.17 CPU s per 10 m
megapixel (6 bands of a 12-band GeoTIFF), a third of the mask's cost. A band whose pixels tile
the cells exactly (same CRS, a whole number of pixels a cell, a declared nodata GDAL skips) is
averaged by a decimating read instead, which costs little more than decoding it; only the cells
the file covers in part, along its edges, and other files go through the warper.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window
from scipy import ndimage

from geoseg.errors import InputError
from geoseg.io.grid import Grid, on_grid
from geoseg.tiling import mirror

#: GDAL's block cache while the bands are read (a strip's blocks, every band of them).
_READ_CACHE_BYTES = 512 * 2**20


class Band(Protocol):
    """What the detector needs of a band (a :class:`geoseg.io.scene.BandSource`)."""

    @property
    def path(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def scale(self) -> float: ...
    @property
    def offset(self) -> float: ...
    @property
    def nodata(self) -> float | None: ...


class Scene(Protocol):
    """What the detector needs of a scene (a :class:`geoseg.io.scene.Scene`, which imports the
    detector: typed by shape, not by import)."""

    @property
    def source(self) -> str: ...
    @property
    def grid(self) -> Grid: ...
    @property
    def bands(self) -> Mapping[str, Band]: ...
    @property
    def provenance(self) -> Mapping[str, str]: ...
    @property
    def tags(self) -> Mapping[str, str]: ...


def strips(
    scene: Scene, bands: tuple[str, ...], coarse: Grid, first: int, tile: int, stride: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per row of tiles (from row ``first`` ≤ 0, every ``stride``): its first row, reflectance
    ``(bands, tile, width)`` with rows off the scene reflected at its edges (land-like context, as
    the chunks get) and nodata filled from the nearest valid cell, and where data is."""
    handles: dict[str, Any] = {}
    try:
        with rasterio.Env(GDAL_CACHEMAX=_READ_CACHE_BYTES):
            for r0 in range(first, coarse.height, stride):
                rows = mirror(r0, tile, coarse.height)  # past the edges: the scene reflected
                top, bottom = int(rows.min()), int(rows.max()) + 1
                x = np.empty((len(bands), tile, coarse.width), dtype=np.float32)
                valid = np.ones((bottom - top, coarse.width), dtype=bool)
                by_path: dict[str, list[int]] = {}
                for i, name in enumerate(bands):
                    by_path.setdefault(scene.bands[name].path, []).append(i)
                for path, members in by_path.items():
                    srcs = [scene.bands[bands[i]] for i in members]
                    view = _view(handles, path, coarse, srcs[0].nodata)
                    win = Window(0, top, coarse.width, bottom - top)
                    raw = view.read([s.index for s in srcs], window=win)
                    for i, src, band in zip(members, srcs, raw, strict=True):
                        part = band.take(rows - top, axis=0)
                        x[i] = part * np.float32(src.scale) + np.float32(src.offset)
                        if src.nodata is not None:
                            valid &= band != src.nodata
                valid = valid.take(rows - top, axis=0) & np.isfinite(x).all(axis=0)
                yield r0, _fill(x, valid), valid
    except RasterioError as exc:
        raise InputError(
            f"cannot read {', '.join(bands)} for cloud detection: {exc}",
            scene.source,
            "the file is truncated or corrupt; download it again, or use --cloud-mask none",
        ) from exc
    finally:
        for key in sorted(handles, key=lambda k: k.endswith("#src")):  # VRTs first
            if "#" in key:
                handles[key].close()


def _view(handles: dict[str, Any], path: str, coarse: Grid, nodata: float | None) -> Any:
    """The file averaged onto the 30 m cells: decimated where its pixels tile the cells, else
    by the warper (skips nodata, any source grid)."""
    if path not in handles:
        ds = rasterio.open(path)
        handles[path + "#src"] = ds
        warped = on_grid(ds, coarse, Resampling.average, src_nodata=nodata)
        if warped is not ds:
            handles[path + "#vrt"] = warped
        handles[path] = _Decimated.over(ds, warped, coarse, nodata) or warped
    return handles[path]


class _Decimated:
    """A file whose pixels tile the cells ``factor × factor``, read onto the cells by GDAL's
    averaging decimation (which skips the declared nodata); cells the file covers in part (its
    edges) come from ``warped``."""

    def __init__(self, ds: Any, warped: Any, factor: int, row_off: int, col_off: int) -> None:
        self.ds, self.warped, self.factor = ds, warped, factor
        self.row_off, self.col_off = row_off, col_off  # file pixels before the first cell's

    @classmethod
    def over(cls, ds: Any, warped: Any, coarse: Grid, nodata: float | None) -> _Decimated | None:
        """The decimated view of ``ds`` on ``coarse``, or None where the pixels do not tile
        the cells or GDAL would average a nodata value it does not know of."""
        t, c = ds.transform, coarse.transform
        if ds.crs != coarse.crs or t.b or t.d or c.b or c.d or ds.nodata != nodata:
            return None
        factor = round(c.a / t.a)
        col, row = (c.c - t.c) / t.a, (c.f - t.f) / t.e  # first cell's corner, in file pixels
        whole = [c.a / t.a, c.e / t.e, col, row]
        if factor < 2 or any(not math.isclose(v, round(v), abs_tol=1e-6) for v in whole):
            return None
        if round(c.e / t.e) != factor:
            return None
        return cls(ds, warped, factor, -round(row), -round(col))

    def _inner(self, size: int, off: int) -> tuple[int, int]:
        """The cells ``[a, b)`` the file covers in full along one axis."""
        return -(-off // self.factor), (size + off) // self.factor

    def read(self, indexes: list[int], window: Window) -> np.ndarray:
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        ra, rb = self._inner(self.ds.height, self.row_off)
        ca, cb = self._inner(self.ds.width, self.col_off)
        ra, rb = min(max(ra, r0), r0 + h), max(min(rb, r0 + h), r0)
        ca, cb = min(max(ca, c0), c0 + w), max(min(cb, c0 + w), c0)
        if rb <= ra or cb <= ca:
            return self.warped.read(indexes, window=window)
        f = self.factor
        src = Window(ca * f - self.col_off, ra * f - self.row_off, (cb - ca) * f, (rb - ra) * f)
        inner = self.ds.read(
            indexes, window=src, out_shape=(len(indexes), rb - ra, cb - ca),
            resampling=Resampling.average,
        )  # fmt: skip
        if (ra, rb, ca, cb) == (r0, r0 + h, c0, c0 + w):
            return inner
        out = np.empty((len(indexes), h, w), dtype=inner.dtype)
        out[:, ra - r0 : rb - r0, ca - c0 : cb - c0] = inner
        edges = [(r0, ra, c0, c0 + w), (rb, r0 + h, c0, c0 + w)]  # rows above, below
        edges += [(ra, rb, c0, ca), (ra, rb, cb, c0 + w)]  # columns left, right
        for top, bottom, left, right in edges:  # cells the file covers in part: the warper
            if bottom > top and right > left:
                part = Window(left, top, right - left, bottom - top)
                out[:, top - r0 : bottom - r0, left - c0 : right - c0] = self.warped.read(
                    indexes, window=part
                )
        return out


def _fill(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Cells without data take the nearest valid cell's values (the network never sees a
    made-up dark or flat patch); a strip without data stays as it is (it is skipped)."""
    if valid.all() or not valid.any():
        return x
    _, (rows, cols) = ndimage.distance_transform_edt(~valid, return_indices=True)
    return x[:, rows, cols]
