"""The lazy Scene: named bands on one pixel grid, read window by window as reflectance.

A Scene never holds pixels. ``read`` opens each source file once per process (handles are dropped
when a Scene is pickled to a worker), resamples coarser bands onto the scene grid for just the
window asked (GDAL warper, bilinear), and applies scale/offset so callers always see reflectance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from geoseg.errors import BandError, InputError


@dataclass(frozen=True)
class Grid:
    """Pixel grid of a raster: what every output of a run is aligned to."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def res(self) -> tuple[float, float]:
        return (abs(self.transform.a), abs(self.transform.e))

    def same_as(self, other: Grid) -> bool:
        return (
            self.crs == other.crs
            and self.width == other.width
            and self.height == other.height
            and self.transform.almost_equals(other.transform, precision=1e-9)
        )


def on_grid(dataset: Any, grid: Grid, resampling: Resampling, nodata: float | None = None) -> Any:
    """``dataset`` itself when it already lies on ``grid``, else a WarpedVRT that resamples it
    onto ``grid`` window by window (never a full-raster resample). Close the VRT, not the source."""
    own = Grid(dataset.crs, dataset.transform, dataset.width, dataset.height)
    if own.same_as(grid):
        return dataset
    extra = {} if nodata is None else {"nodata": nodata}
    return WarpedVRT(
        dataset,
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=resampling,
        **extra,
    )


@dataclass(frozen=True)
class BandSource:
    """Where one band lives and how its numbers become reflectance: ``DN * scale + offset``."""

    name: str
    path: str
    index: int
    scale: float
    offset: float
    nodata: float | None


@dataclass
class Scene:
    """A multi-band scene on one grid (the finest of its sources), read lazily by windows."""

    source: str
    grid: Grid
    bands: dict[str, BandSource]
    kind: str = "geotiff"
    tags: dict[str, str] = field(default_factory=dict)
    _handles: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def band_names(self) -> list[str]:
        return list(self.bands)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.grid.height, self.grid.width)

    def require(self, names: Iterable[str]) -> None:
        """Fail with a usable message when bands the model needs are absent."""
        missing = [n for n in names if n not in self.bands]
        if missing:
            raise BandError(
                f"scene lacks band(s) {', '.join(missing)} "
                f"(found: {', '.join(self.bands) or 'none'})",
                self.source,
                "set band descriptions in the file or map bands explicitly, e.g. "
                "--bands B02=1,B03=2,B04=3,B08=4",
            )

    def read(self, window: Window, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Reflectance ``(len(names), h, w)`` float32 and a validity mask ``(h, w)`` for a window.

        A pixel is valid when every requested band holds data there; invalid pixels read as 0.
        """
        self.require(names)
        h, w = int(window.height), int(window.width)
        out = np.empty((len(names), h, w), dtype=np.float32)
        valid = np.ones((h, w), dtype=bool)
        by_path: dict[str, list[tuple[int, BandSource]]] = {}
        for i, name in enumerate(names):
            src = self.bands[name]
            by_path.setdefault(src.path, []).append((i, src))
        for path, members in by_path.items():
            dataset = self._dataset(path)
            indexes = [src.index for _, src in members]
            try:
                raw = dataset.read(indexes, window=window)
            except RasterioError as exc:
                raise InputError(
                    f"cannot read pixels at rows {window.row_off}..{window.row_off + h}: {exc}",
                    path,
                    "the file is truncated or corrupt; download or export it again",
                ) from exc
            for (i, src), band in zip(members, raw, strict=True):
                if src.nodata is not None:
                    valid &= band != src.nodata
                if np.issubdtype(band.dtype, np.floating):
                    valid &= np.isfinite(band)
                np.multiply(band, src.scale, out=out[i], casting="unsafe")
                if src.offset:
                    out[i] += src.offset
        np.copyto(out, 0.0, where=~valid)  # invalid pixels (NaN too) read as 0
        return out, valid

    def _dataset(self, path: str) -> Any:
        handle = self._handles.get(path)
        if handle is None:
            try:
                ds = rasterio.open(path)
            except RasterioError as exc:
                raise InputError("cannot open raster", path, str(exc)) from exc
            handle = on_grid(ds, self.grid, Resampling.bilinear)  # coarser bands: per window
            self._handles[path] = handle
            if handle is not ds:
                self._handles[path + "#src"] = ds  # closed after the VRT that reads it
        return handle

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def __enter__(self) -> Scene:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
