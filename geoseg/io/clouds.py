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
        try:
            with rasterio.open(path) as ds:
                resampled = on_grid(ds, coarse, Resampling.average, src_nodata=sources[0].nodata)
                try:
                    for r0 in range(0, coarse.height, _STRIP_ROWS):
                        rows = min(_STRIP_ROWS, coarse.height - r0)
                        window = Window(0, r0, coarse.width, rows)
                        raw = resampled.read([s.index for s in sources], window=window)
                        for i, src, band in zip(members, sources, raw, strict=True):
                            part = x[r0 : r0 + rows, :, i]
                            np.multiply(band, src.scale, out=part, casting="unsafe")
                            if src.offset:
                                part += src.offset
                            if src.nodata is not None:
                                valid[r0 : r0 + rows] &= band != src.nodata
                finally:
                    if resampled is not ds:
                        resampled.close()
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
