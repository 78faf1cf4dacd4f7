"""Cloud, shadow and user masks: which pixels of a scene must not be classified.

A mask is a raster read per window like a band, resampled onto the scene grid with *nearest*
(class codes must not be blended). Four kinds: the Level-2A scene classification (SCL, 20 m),
where chosen classes are masked; clouds detected in a Level-1C scene (:mod:`geoseg.io.clouds`);
a user ``--mask`` raster, where any nonzero value is masked out; and a user ``--keep`` raster,
where only nonzero values are kept (zero, nodata and everything outside it are masked: a fields
raster keeps the fields). Masked pixels still feed the model as
context (clouds are real reflectance); only their classes become nodata, so the classes around a
cloud are the same with or without the mask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from geoseg.errors import InputError
from geoseg.io.grid import Grid

#: SCL classes masked by default: cloud shadows (3), cloud medium (8) / high (9) probability,
#: thin cirrus (10). Saturated (1), dark (2) and snow (11) stay: they are land-cover evidence.
SCL_CLOUD_CLASSES: tuple[int, ...] = (3, 8, 9, 10)
SCL_NAMES = {
    0: "no_data",
    1: "saturated_or_defective",
    2: "dark_area",
    3: "cloud_shadow",
    4: "vegetation",
    5: "not_vegetated",
    6: "water",
    7: "unclassified",
    8: "cloud_medium_probability",
    9: "cloud_high_probability",
    10: "thin_cirrus",
    11: "snow_ice",
}
#: SCL classes a run's record counts as cloud and as cloud shadow (when they are masked).
SCL_CLOUD = (8, 9, 10)
SCL_SHADOW = (3,)


def scl_shares(values: np.ndarray, classes: tuple[int, ...]) -> dict[str, float]:
    """Percent of the SCL pixels holding data (class 0 is none) masked as cloud and as shadow,
    the split the detector reports too; a cloud or shadow class left unmasked is not counted."""
    n = max(int((values != 0).sum()), 1)
    cloud = [c for c in SCL_CLOUD if c in classes]
    shadow = [c for c in SCL_SHADOW if c in classes]
    return {
        "cloud_pct": 100.0 * int(np.isin(values, cloud).sum()) / n,
        "shadow_pct": 100.0 * int(np.isin(values, shadow).sum()) / n,
    }


#: Cloud masks ``--cloud-mask`` may name: the product's scene classification, the detector.
CLOUD_METHODS = ("scl", "csmask")
#: What ``--cloud-mask`` takes besides the methods.
CLOUD_CHOICES = "auto (SCL where the product has it, else csmask), scl, csmask, scl,csmask, none"


def parse_cloud_mask(value: str | bool) -> str:
    """``--cloud-mask`` as stored: ``auto``, ``none`` or methods in :data:`CLOUD_METHODS`
    order, comma-separated (``True``/``False``, the old switch, are ``auto``/``none``)."""
    if isinstance(value, bool):
        return "auto" if value else "none"
    tokens = {t.strip().lower() for t in str(value).split(",") if t.strip()}
    if tokens in ({"auto"}, {"none"}):
        return tokens.pop()
    if not tokens or not tokens <= set(CLOUD_METHODS):
        raise InputError(
            f"not a cloud mask: {value!r}", "--cloud-mask", f"use one of: {CLOUD_CHOICES}"
        )
    return ",".join(m for m in CLOUD_METHODS if m in tokens)


@dataclass(frozen=True)
class MaskSource:
    """One mask raster band: ``classes`` are the masked values (None: any nonzero value; with
    ``keep``, any value but nonzero ones)."""

    name: str  # "SCL", "mask" or "keep"
    path: str
    index: int = 1
    classes: tuple[int, ...] | None = None
    nodata: float | None = None
    keep: bool = False  # nonzero values are kept, the rest masked
    shapes: bytes | None = None  # polygons (WKB, scene CRS) rasterised per window, not read
    detector: str | None = None  # computed from the scene's own bands (geoseg.io.clouds), not read

    def burn(self, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """The polygons rasterised on one window (1 inside, 0 outside): per window, so an area
        of interest never costs a scene-sized array."""
        from rasterio.features import rasterize
        from shapely import from_wkb

        assert self.shapes is not None
        geom = from_wkb(self.shapes)
        return rasterize([(geom, 1)], out_shape=shape, transform=transform, dtype="uint8")

    def excludes(self, transform: Affine, window: Window) -> bool:
        """Whether this mask keeps nothing in ``window`` (a keep area's polygons miss it): its
        chunk needs no reading and no model. A raster mask cannot tell without reading."""
        if not (self.keep and self.shapes is not None):
            return False
        from shapely import box, from_wkb

        return not from_wkb(self.shapes).intersects(box(*window_bounds(window, transform)))

    def masked(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask (True = masked) from raw values of this band."""
        if self.classes is not None:
            return np.isin(values, self.classes)
        out = values != 0
        if self.nodata is not None:
            out &= values != self.nodata
        if np.issubdtype(values.dtype, np.floating):
            out &= np.isfinite(values)
        return ~out if self.keep else out

    def describe(self) -> str:
        if self.detector is not None:
            return f"{self.name} (detected by {self.detector})"
        if self.shapes is not None:  # the geometry's digest: another area, other chunks
            digest = hashlib.sha256(self.shapes).hexdigest()[:12]
            kept = "kept" if self.keep else "masked"
            return f"{self.name} (inside polygons {kept}, geometry {digest})"
        if self.keep:
            return f"{self.name} (nonzero values kept)"
        what = (
            "classes " + ",".join(str(c) for c in self.classes)
            if self.classes is not None
            else "nonzero values"
        )
        return f"{self.name} ({what})"


def parse_classes(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"3,8,9,10"`` (or a sequence) → SCL class codes, checked to be 0–11."""
    items: Iterable[object] = text.split(",") if isinstance(text, str) else text
    out = []
    for item in items:
        token = str(item).strip()
        if not token:
            continue
        if not token.isdigit() or int(token) not in SCL_NAMES:
            raise InputError(
                f"not an SCL class: {token!r}",
                "--scl-classes",
                "use codes 0-11, e.g. 3,8,9,10 (shadow, cloud medium/high, cirrus)",
            )
        out.append(int(token))
    return tuple(sorted(set(out)))


def user_mask(path: str | Path, grid: Grid, keep: bool = False) -> MaskSource:
    """A mask raster given by the user (``keep``: a keep raster), checked to be readable,
    georeferenced and over the scene."""
    where = Path(path)
    if not where.exists():
        raise InputError("mask raster not found", where, f"check the --{_flag(keep)} path")
    try:
        with rasterio.open(where) as ds:
            if ds.crs is None or ds.transform.is_identity:
                raise InputError(
                    "mask raster is not georeferenced", where, "give it a CRS and geotransform"
                )
            bounds = transform_bounds(ds.crs, grid.crs, *ds.bounds)
            nodata = ds.nodata
    except RasterioError as exc:
        raise InputError("mask is not a readable raster", where, str(exc)) from exc
    if not _overlap(tuple(bounds), grid.bounds):
        raise InputError(
            "mask raster does not overlap the scene", where, "give a mask covering the scene"
        )
    return MaskSource(_flag(keep), str(where), 1, None, nodata, keep)


def _flag(keep: bool) -> str:
    return "keep" if keep else "mask"


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two (left, bottom, right, top) boxes share area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
