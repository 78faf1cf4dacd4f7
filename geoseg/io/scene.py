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
from geoseg.io.mask import MaskSource


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

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        x0, y0 = self.transform * (0, 0)
        x1, y1 = self.transform * (self.width, self.height)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def same_as(self, other: Grid) -> bool:
        return (
            self.crs == other.crs
            and self.width == other.width
            and self.height == other.height
            and self.transform.almost_equals(other.transform, precision=1e-9)
        )


def on_grid(
    dataset: Any,
    grid: Grid,
    resampling: Resampling,
    nodata: float | None = None,
    src_nodata: float | None = None,
) -> Any:
    """``dataset`` itself when it already lies on ``grid``, else a WarpedVRT that resamples it
    onto ``grid`` window by window (never a full-raster resample). Close the VRT, not the source.

    ``src_nodata`` names the no-data value of sources that do not declare one (Sentinel-2 JPEG
    2000 bands: 0), so that the warper does not blend it into the pixels along nodata edges."""
    own = Grid(dataset.crs, dataset.transform, dataset.width, dataset.height)
    if own.same_as(grid):
        return dataset
    extra: dict[str, float] = {} if nodata is None else {"nodata": nodata}
    if src_nodata is not None and dataset.nodata is None:
        extra["src_nodata"] = src_nodata
        extra.setdefault("nodata", src_nodata)
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
    #: Product facts carried into the outputs' provenance (S2_TILE_ID, S2_SENSING_TIME…).
    provenance: dict[str, str] = field(default_factory=dict)
    #: Rasters whose flagged pixels become nodata in the class raster (see geoseg.io.mask).
    masks: list[MaskSource] = field(default_factory=list)
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
            dataset = self._dataset(path, nodata=members[0][1].nodata)
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

    def read_mask(self, window: Window) -> np.ndarray | None:
        """Masked pixels ``(h, w)`` (True = masked) of a window; None when the scene has no mask.

        Masks are resampled with nearest: a 20 m SCL pixel flags the four 10 m pixels it covers.
        """
        if not self.masks:
            return None
        h, w = int(window.height), int(window.width)
        out = np.zeros((h, w), dtype=bool)
        for mask in self.masks:
            dataset = self._dataset(mask.path, Resampling.nearest)
            try:
                values = dataset.read(mask.index, window=window, boundless=False)
            except RasterioError as exc:
                raise InputError(
                    f"cannot read mask pixels at rows {window.row_off}..{window.row_off + h}: "
                    f"{exc}",
                    mask.path,
                    "the mask file is truncated or corrupt; download or export it again",
                ) from exc
            out |= mask.masked(values)
        return out

    def _dataset(
        self, path: str, resampling: Resampling = Resampling.bilinear, nodata: float | None = None
    ) -> Any:
        key = path if resampling == Resampling.bilinear else f"{path}#{resampling.name}"
        handle = self._handles.get(key)
        if handle is None:
            try:
                ds = rasterio.open(path)
            except RasterioError as exc:
                raise InputError("cannot open raster", path, str(exc)) from exc
            if resampling == Resampling.nearest:  # a mask: unmasked outside its extent
                handle = on_grid(ds, self.grid, resampling, nodata=0.0)
            else:  # coarser bands, resampled per window
                handle = on_grid(ds, self.grid, resampling, src_nodata=nodata)
            self._handles[key] = handle
            if handle is not ds:
                self._handles[key + "#src"] = ds  # closed after the VRT that reads it
        return handle

    def close(self) -> None:
        for key in sorted(self._handles, key=lambda k: k.endswith("#src")):  # VRTs first
            self._handles[key].close()
        self._handles.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def __enter__(self) -> Scene:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe(path: str, where: str | None = None) -> tuple[Grid, str]:
    """Grid and data type of a band file (GDAL path: local, /vsizip/, /vsicurl/…), checked to be
    georeferenced and readable at its first and last pixel, so that truncated files fail before
    any output is started. ``where`` names the file in errors (default: ``path``)."""
    where = where or path
    try:
        with rasterio.open(path) as ds:
            if ds.crs is None or ds.transform.is_identity:
                raise InputError(
                    "band raster is not georeferenced", where, "download the product again"
                )
            for row, col in ((0, 0), (ds.height - 1, ds.width - 1)):
                ds.read(1, window=Window(col, row, 1, 1))
            return Grid(ds.crs, ds.transform, ds.width, ds.height), ds.dtypes[0]
    except RasterioError as exc:
        raise InputError(
            "band raster is missing, truncated or unreadable",
            where,
            f"download the product again ({exc})",
        ) from exc


def finest(grids: Iterable[Grid]) -> Grid:
    """The grid with the smallest pixels: where every band of a product is resampled to."""
    return min(grids, key=lambda g: g.res[0])
