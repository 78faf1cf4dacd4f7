"""Clouds in Level-1C scenes, found by s2cloudless (Sentinel Hub's LightGBM pixel detector; its
model ships inside the wheel, so it runs offline).

Level-1C products have no scene classification (SCL), and the land-cover model calls clouds bare,
built or snow. The detector reads ten top-of-atmosphere bands, three of them (B01, B09, B10) at
60 m; B10 (cirrus) exists only in Level-1C, so any scene holding the ten bands that is not declared
Level-2A gets the mask by default. It runs once per scene on a 60 m grid: the native grid of those
three bands, and the resolution its authors give parameters for (probability above 0.4 after
averaging over a disk of radius 4, then dilated by a disk of radius 2). A full tile is 1830²
detector pixels; a scene pixel is masked when the 60 m cell holding it is. Cloud shadows are not
detected: no well-kept method on PyPI finds them from one Level-1C scene.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geoseg.errors import InputError
from geoseg.io.grid import Grid, on_grid
from geoseg.io.masks import MaskSource

#: The detector's input bands, in its order.
CLOUD_BANDS: tuple[str, ...] = (
    "B01",
    "B02",
    "B04",
    "B05",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
RESOLUTION_M = 60.0
THRESHOLD = 0.4
AVERAGE_OVER = 4  # disk radius, detector pixels
DILATION = 2  # disk radius, detector pixels
#: How the mask is made, as runs describe it (in a run's identity: other settings, other chunks).
DETECTOR = "s2cloudless at 60 m, probability > 0.4, averaged over radius 4, dilated by 2"
#: Detector rows read and predicted at once (LightGBM copies its input as float64); 256 cells of
#: 60 m are three 512-px blocks of a 10 m file.
_STRIP_ROWS = 256
#: GDAL's block cache while the bands are read: a strip's blocks must stay cached while band after
#: band of a pixel-interleaved file is read from them (each block holds every band), or each band
#: decodes them again. The run's own cap (64 MiB, geoseg.tiling) comes back afterwards.
_READ_CACHE_BYTES = 512 * 2**20


class _Band(Protocol):
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


class _Scene(Protocol):
    """What the detector needs of a scene (a :class:`geoseg.io.scene.Scene`, which imports this
    module: typed by shape, not by import)."""

    @property
    def grid(self) -> Grid: ...
    @property
    def bands(self) -> Mapping[str, _Band]: ...
    @property
    def provenance(self) -> Mapping[str, str]: ...


def detectable(scene: _Scene) -> bool:
    """Whether the detector can run: the scene holds its ten bands and is not Level-2A."""
    level = scene.provenance.get("S2_PROCESSING_LEVEL", "")
    return level != "L2A" and all(name in scene.bands for name in CLOUD_BANDS)


def cloud_source() -> MaskSource:
    """The mask entry of detected clouds: computed from the scene's own bands, no file."""
    return MaskSource("clouds", "", detector=DETECTOR)


@dataclass(frozen=True)
class CoarseMask:
    """A boolean mask on a grid ``factor`` times coarser than the scene's, aligned to its corner."""

    factor: int
    mask: np.ndarray = field(repr=False)

    def window(self, window: Window) -> np.ndarray:
        """The mask on a window of the scene grid (nearest: a cell flags the pixels it covers)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        rows = np.clip(np.arange(r0, r0 + h) // self.factor, 0, self.mask.shape[0] - 1)
        cols = np.clip(np.arange(c0, c0 + w) // self.factor, 0, self.mask.shape[1] - 1)
        return self.mask.take(rows, axis=0).take(cols, axis=1)

    @property
    def fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0


def detect(scene: _Scene) -> CoarseMask:
    """Run the detector over the whole scene on its 60 m grid."""
    grid, factor = detector_grid(scene)
    x, valid = read_bands(scene, grid)
    return CoarseMask(factor, cloud_mask(cloud_probability(x, valid)))


def detector_grid(scene: _Scene) -> tuple[Grid, int]:
    """The 60 m grid over the scene (same corner), and how many scene pixels a cell spans."""
    factor = max(1, round(RESOLUTION_M / scene.grid.res[0]))
    grid = Grid(
        scene.grid.crs,
        scene.grid.transform * Affine.scale(factor),
        math.ceil(scene.grid.width / factor),
        math.ceil(scene.grid.height / factor),
    )
    return grid, factor


def cloud_probability(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """LightGBM's cloud probability per cell, 0 where a band lacks data (nodata is no cloud:
    it stays nodata in the outputs anyway)."""
    probability = np.zeros(valid.shape, dtype=np.float32)
    detector = _detector()
    for r0 in range(0, valid.shape[0], _STRIP_ROWS):
        strip = x[None, r0 : r0 + _STRIP_ROWS]
        probability[r0 : r0 + _STRIP_ROWS] = detector.get_cloud_probability_maps(strip)[0]
    probability[~valid] = 0.0
    return probability


def cloud_mask(probability: np.ndarray) -> np.ndarray:
    """Probabilities averaged over a disk, thresholded and dilated (the detector's own steps)."""
    return np.asarray(_detector().get_mask_from_prob(probability[None])[0], dtype=bool)


def _detector() -> Any:
    from s2cloudless import S2PixelCloudDetector  # LightGBM and OpenCV load only when needed

    return S2PixelCloudDetector(
        threshold=THRESHOLD, average_over=AVERAGE_OVER, dilation_size=DILATION
    )


def read_bands(scene: _Scene, coarse: Grid) -> tuple[np.ndarray, np.ndarray]:
    """The detector's bands as reflectance ``(h, w, 10)`` on ``coarse`` (area averages of finer
    bands) and where all ten hold data. Each file is read once, all its detector bands together
    (a pixel-interleaved file decodes every band of a block at once), strip by strip: memory is
    one strip of the finest file, not the scene."""
    x = np.empty((coarse.height, coarse.width, len(CLOUD_BANDS)), dtype=np.float32)
    valid = np.ones((coarse.height, coarse.width), dtype=bool)
    by_path: dict[str, list[int]] = {}
    for i, name in enumerate(CLOUD_BANDS):
        by_path.setdefault(scene.bands[name].path, []).append(i)
    for path, members in by_path.items():
        sources = [scene.bands[CLOUD_BANDS[i]] for i in members]
        indexes = [s.index for s in sources]
        try:
            with (
                rasterio.Env(GDAL_CACHEMAX=_READ_CACHE_BYTES),
                rasterio.open(path) as ds,
                _Strips(ds, coarse, sources[0].nodata) as strips,
            ):
                step = strips.rows_cached(_READ_CACHE_BYTES)
                for r0 in range(0, coarse.height, step):
                    rows = min(step, coarse.height - r0)
                    raw = strips.read(indexes, r0, rows)
                    for i, src, band in zip(members, sources, raw, strict=True):
                        part = x[r0 : r0 + rows, :, i]
                        np.multiply(band, src.scale, out=part, casting="unsafe")
                        if src.offset:
                            part += src.offset
                        if src.nodata is not None:
                            valid[r0 : r0 + rows] &= band != src.nodata
        except RasterioError as exc:
            names = ", ".join(CLOUD_BANDS[i] for i in members)
            raise InputError(
                f"cannot read {names} for cloud detection: {exc}",
                path,
                "the file is truncated or corrupt; download it again, or use --no-cloud-mask",
            ) from exc
    valid &= np.isfinite(x).all(axis=2)
    x[~valid] = 0.0
    return x, valid


class _Strips:
    """Strips of a file averaged onto the detector grid.

    A file whose pixels nest in the detector's cells (same CRS and corner, k × k pixels a cell:
    every band of a Sentinel-2 tile) is read decimated, which lets GDAL decode a coarser level of
    its overviews: a JPEG 2000 band's strip in 0.15 s instead of 1.9 s at full resolution
    (bench/RESULTS.md). Such reads average nodata in (a cell on a nodata edge reads darker, which
    is no cloud); cells the file only partly covers, and files on other grids, go through the
    warper, which skips nodata but decodes at full resolution.
    """

    def __init__(self, ds: Any, coarse: Grid, nodata: float | None) -> None:
        self.ds, self.coarse, self.nodata = ds, coarse, nodata
        self.k = _nested(ds, coarse)
        self._warped: Any = None

    def rows_cached(self, cache_bytes: int) -> int:
        """Detector rows per strip (at most :data:`_STRIP_ROWS`) whose source blocks, all bands,
        fit in ``cache_bytes`` with room to spare."""
        k = self.k or 1
        per_row = k * self.ds.width * self.ds.count * np.dtype(self.ds.dtypes[0]).itemsize
        return int(max(8, min(_STRIP_ROWS, cache_bytes // (2 * max(per_row, 1)))))

    def read(self, indexes: list[int], r0: int, rows: int) -> np.ndarray:
        width, k = self.coarse.width, self.k
        if k is None:
            return self._warp().read(indexes, window=Window(0, r0, width, rows))
        full_rows = max(0, min(rows, self.ds.height // k - r0))
        full_cols = min(width, self.ds.width // k)
        if full_rows == rows and full_cols == width:
            return self._decimated(indexes, r0, rows, width)
        out = np.empty((len(indexes), rows, width), dtype=self.ds.dtypes[0])
        if full_rows and full_cols:
            out[:, :full_rows, :full_cols] = self._decimated(indexes, r0, full_rows, full_cols)
        if full_cols < width:  # the cells past the file's last whole column
            win = Window(full_cols, r0, width - full_cols, full_rows)
            out[:, :full_rows, full_cols:] = self._warp().read(indexes, window=win)
        if full_rows < rows:
            win = Window(0, r0 + full_rows, width, rows - full_rows)
            out[:, full_rows:] = self._warp().read(indexes, window=win)
        return out

    def _decimated(self, indexes: list[int], r0: int, rows: int, cols: int) -> np.ndarray:
        k = self.k
        assert k is not None
        return np.asarray(
            self.ds.read(
                indexes,
                window=Window(0, r0 * k, cols * k, rows * k),
                out_shape=(len(indexes), rows, cols),
                resampling=Resampling.average,
            )
        )

    def _warp(self) -> Any:
        if self._warped is None:
            self._warped = on_grid(self.ds, self.coarse, Resampling.average, src_nodata=self.nodata)
        return self._warped

    def __enter__(self) -> _Strips:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._warped is not None and self._warped is not self.ds:
            self._warped.close()


def _nested(ds: Any, coarse: Grid) -> int | None:
    """How many of the file's pixels span a detector cell, when its grid nests in the detector's
    (same CRS, same corner, north-up, an integer ratio); else None."""
    t, c = ds.transform, coarse.transform
    if ds.crs != coarse.crs or t.b or t.d or c.b or c.d:
        return None
    k = c.a / t.a
    if round(k) < 1 or abs(k - round(k)) > 1e-9 or abs(c.e / t.e - k) > 1e-9:
        return None
    if abs(c.c - t.c) > 1e-6 * abs(t.a) or abs(c.f - t.f) > 1e-6 * abs(t.e):
        return None
    return round(k)
