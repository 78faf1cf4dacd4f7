"""The lazy Scene: named bands on one pixel grid, read window by window as reflectance.

A Scene never holds pixels. ``read`` opens each source file once per process (handles are dropped
when a Scene is pickled to a worker), resamples coarser bands onto the scene grid for just the
window asked (GDAL warper, bilinear), and applies scale/offset so callers always see reflectance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from geoseg.errors import BandError, InputError
from geoseg.io.grid import Grid, on_grid
from geoseg.io.masks import MaskSource, scl_shares
from geoseg.tiling import mirror

if TYPE_CHECKING:
    from geoseg.io.clouds import CoarseMask

#: Reflectance beyond this magnitude is no measurement (real values lie within about -0.1..2)
MAX_REFLECTANCE = 100.0


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
    #: Rasters whose flagged pixels become nodata in the class raster (see geoseg.io.masks).
    masks: list[MaskSource] = field(default_factory=list)
    _handles: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Figures derived from the pixels once per scene (the domain check's band medians).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

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
                self._band_remedy(list(names)),
            )

    def _band_remedy(self, names: list[str]) -> str:
        """What to do: products name their bands, so only another product helps; a GeoTIFF or
        folder needs every band the run reads mapped (a partial hint leads into the next error)."""
        if self.kind in ("safe", "safe-zip", "stac"):
            return f"use a product that holds {', '.join(names)}"
        example = ",".join(f"{n}={i}" for i, n in enumerate(names, start=1))
        return (
            "set band descriptions in the file or map every band the run reads with --bands, "
            f"e.g. --bands {example} (the numbers are the file's band numbers)"
        )

    def read(
        self, window: Window, names: Sequence[str], out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reflectance ``(len(names), h, w)`` float32 and a validity mask ``(h, w)`` for a window.

        A pixel is valid when every requested band holds data there, finite and at most
        :data:`MAX_REFLECTANCE` in magnitude; invalid pixels read as 0. ``out`` (float32, that
        shape, a view of a larger array welcome) receives the reflectance instead of a new array.
        """
        self.require(names)
        h, w = int(window.height), int(window.width)
        out = _output(out, (len(names), h, w))
        valid = np.ones((h, w), dtype=bool)
        bounded = True  # every value the raw numbers can take is plausible reflectance
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
            bounded = bounded and _bounded(raw.dtype, members)
            for (i, src), band in zip(members, raw, strict=True):
                if src.nodata is not None:
                    valid &= band != src.nodata
                np.multiply(band, src.scale, out=out[i], casting="unsafe")
                if src.offset:
                    out[i] += src.offset
        # NaN, inf and values no reflectance can have (a stray 3e38 in a float file, which would
        # overflow the network's input and spread NaN over the whole tile) make a pixel invalid.
        # Integer bands whose whole range is plausible (uint16 DN × 1e-4) cannot hold them.
        if not bounded:
            with np.errstate(invalid="ignore"):
                valid &= (np.abs(out) <= MAX_REFLECTANCE).all(axis=0)
        np.copyto(out, 0.0, where=~valid)  # invalid pixels (NaN too) read as 0
        return out, valid

    def read_mirrored(
        self, window: Window, names: Sequence[str], out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`read` for a window that may reach past the scene's edges: pixels outside mirror
        the scene, as context for the model in place of the land beyond the edge. Returns the
        reflectance, its validity (mirrored too: what the model may look at) and which pixels
        are inside the scene (only those become outputs).

        The scene part is read into a corner of ``out`` and mirrored there band by band, so a
        chunk's reflectance exists once (plus one band), not twice."""
        src, rows, cols, inside = self._mirror(window)
        if src is None:
            data, valid = self.read(window, names, out)
            return data, valid, np.ones(valid.shape, dtype=bool)
        out = _output(out, (len(names), int(window.height), int(window.width)))
        _, valid = self.read(src, names, out[:, : int(src.height), : int(src.width)])
        for band in out:  # the takes copy before assigning: safe in place
            band[...] = _reindex(band, rows, cols)
        return out, _reindex(valid, rows, cols), inside

    def read_mask_mirrored(self, window: Window) -> np.ndarray | None:
        """:meth:`read_mask` for a window that may reach past the scene's edges."""
        src, rows, cols, _ = self._mirror(window)
        if src is None:
            return self.read_mask(window)
        masked = self.read_mask(src)
        return None if masked is None else _reindex(masked, rows, cols)

    def _mirror(self, window: Window) -> tuple[Window | None, np.ndarray, np.ndarray, np.ndarray]:
        """The scene window a mirrored read needs, the row/column indices into it, and which
        pixels lie inside the scene; no window when ``window`` is inside the scene."""
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        H, W = self.grid.height, self.grid.width
        if r0 >= 0 and c0 >= 0 and r0 + h <= H and c0 + w <= W:
            empty = np.empty(0, dtype=np.int64)
            return None, empty, empty, np.empty((0, 0), dtype=bool)
        rows, cols = mirror(r0, h, H), mirror(c0, w, W)
        top, left = int(rows.min()), int(cols.min())
        src = Window(left, top, int(cols.max()) - left + 1, int(rows.max()) - top + 1)
        r, c = np.arange(r0, r0 + h), np.arange(c0, c0 + w)
        inside = ((r >= 0) & (r < H))[:, None] & ((c >= 0) & (c < W))[None, :]
        return src, rows - top, cols - left, inside

    def read_mask(self, window: Window) -> np.ndarray | None:
        """Masked pixels ``(h, w)`` (True = masked) of a window; None when the scene has no mask.

        Masks are resampled with nearest: a 20 m SCL pixel flags the four 10 m pixels it covers.
        """
        if not self.masks:
            return None
        h, w = int(window.height), int(window.width)
        out = np.zeros((h, w), dtype=bool)
        for mask in self.masks:
            if mask.detector is not None:  # computed once per scene from its bands
                out |= self.detected(mask).window(window)
                continue
            if mask.shapes is not None:  # an area of interest: rasterised, not read
                where = window_transform(window, self.grid.transform)
                out |= mask.masked(mask.burn(where, (h, w)))
                continue
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

    def detected(self, mask: MaskSource) -> CoarseMask:
        """The coarse mask a detector draws from this scene, computed on first use and kept
        (pickled with the scene: run it before handing the scene to workers)."""
        key = ("detected", mask.detector)
        if key not in self.memo:
            from geoseg.io.clouds import detect

            self.memo[key] = detect(self)
        found: CoarseMask = self.memo[key]
        return found

    def detect_masks(self) -> dict[str, float]:
        """Run every detector mask of the scene now; the share of the scene each one masks."""
        return {m.name: self.detected(m).fraction for m in self.masks if m.detector is not None}

    def cloud_record(self) -> dict[str, str | float]:
        """How clouds are masked, for the outputs' tags and stats: ``method`` (``scl``,
        ``csmask``, both, or ``none``) and, for detected ones, the percent of the scene's data
        under cloud and under shadow (from the detector's 30 m cells: run before workers)."""
        scl = [m for m in self.masks if m.name == "SCL" and m.classes]
        detectors = [m for m in self.masks if m.detector is not None]
        methods = [m.name for m in scl] + ["csmask" for _ in detectors]
        out: dict[str, str | float] = {"method": ",".join(methods).lower() or "none"}
        for mask in scl:  # the detector's split, when it also runs, is the one recorded
            out.update({k: round(v, 2) for k, v in self.scl_shares(mask).items()})
        for mask in detectors:
            out["detector"] = str(mask.detector)
            out.update({k: round(v, 2) for k, v in self.detected(mask).shares().items()})
        return out

    def scl_shares(self, mask: MaskSource) -> dict[str, float]:
        """Cloud and shadow percent of an SCL mask over the scene, read once at the SCL's own
        resolution (a full tile's 20 m SCL: 30 MB) and kept."""
        key = ("scl", mask.path, mask.classes)
        if key not in self.memo:
            try:
                with rasterio.open(mask.path) as ds:
                    k = max(1, round(ds.res[0] / self.grid.res[0]))
                    t = self.grid.transform * Affine.scale(k)
                    g = Grid(self.grid.crs, t, -(-self.grid.width // k), -(-self.grid.height // k))
                    view = on_grid(ds, g, Resampling.nearest, nodata=0.0)
                    values = view.read(mask.index)
                    if view is not ds:
                        view.close()
            except RasterioError as exc:
                raise InputError(
                    f"cannot read the scene classification: {exc}",
                    mask.path,
                    "the file is truncated or corrupt; download the product again",
                ) from exc
            self.memo[key] = scl_shares(values, mask.classes or ())
        shares: dict[str, float] = self.memo[key]
        return shares

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


def _reindex(plane: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``plane[rows[:, None], cols]`` as one take per axis, skipping an axis whose indices are
    the identity (a chunk on one edge only): a 2304² band in 19.5 ms instead of 37.6."""
    if len(rows) != plane.shape[0] or (rows != np.arange(len(rows))).any():
        plane = plane.take(rows, axis=0)
    if len(cols) != plane.shape[1] or (cols != np.arange(len(cols))).any():
        plane = plane.take(cols, axis=1)
    return plane


def _output(out: np.ndarray | None, shape: tuple[int, int, int]) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {shape}, got {out.dtype} {out.shape}")
    return out


def _bounded(dtype: np.dtype, members: Sequence[tuple[int, BandSource]]) -> bool:
    """Whether every value of an integer ``dtype`` scales to at most :data:`MAX_REFLECTANCE`."""
    if dtype.kind not in "ui":
        return False
    info = np.iinfo(dtype)
    return all(
        max(abs(info.min * s.scale + s.offset), abs(info.max * s.scale + s.offset))
        <= MAX_REFLECTANCE
        for _, s in members
    )
