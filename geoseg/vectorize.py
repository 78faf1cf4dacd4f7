"""Class regions to polygons, strip by strip, with regions crossing strip borders merged whole.

Each strip of the class raster is sieved to the minimum mapping unit (with a halo, so regions the
sieve removes are decided as on the whole raster), labelled into 4-connected regions and traced with
``rasterio.features.shapes`` in *pixel* coordinates, where shared borders are exact integers.
Regions touching the strip's lower edge stay open; the next strip's regions that touch them (same
class, 4-adjacent across the border) are unioned in. Memory is one strip plus the open regions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio import features
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import shape

NODATA = 255


@dataclass
class Region:
    class_id: int
    parts: list[shapely.Geometry]
    pixels: int
    conf_sum: float
    conf_pixels: int

    def absorb(self, other: Region) -> None:
        self.parts += other.parts
        self.pixels += other.pixels
        self.conf_sum += other.conf_sum
        self.conf_pixels += other.conf_pixels


@dataclass
class PolygonBatch:
    """Finished regions; geometries in the raster's CRS."""

    class_id: np.ndarray
    geometry: np.ndarray
    pixels: np.ndarray
    confidence: np.ndarray  # mean confidence (%) per region, NaN without a confidence raster

    def __len__(self) -> int:
        return len(self.class_id)


def label_regions(classes: np.ndarray) -> np.ndarray:
    """4-connected regions of equal class, numbered from 1 (0 = nodata)."""
    labels = np.zeros(classes.shape, dtype=np.int32)
    n = 0
    for value in np.unique(classes):
        if value == NODATA:
            continue
        lab, k = ndimage.label(classes == value)
        hit = lab > 0
        labels[hit] = lab[hit] + n
        n += k
    return labels


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def sieve_pixels(min_area_m2: float, pixel_area_m2: float) -> int:
    return max(1, int(np.ceil(min_area_m2 / pixel_area_m2 - 1e-9))) if min_area_m2 > 0 else 1


def polygonize(
    classes_path: Path,
    confidence_path: Path | None = None,
    min_pixels: int = 1,
    simplify_px: float = 0.0,
    strip_rows: int = 1024,
) -> Iterator[PolygonBatch]:
    """Yield polygon batches for the class raster, strip by strip (see module docstring)."""
    halo = max(64, min_pixels)  # a region crossing the halo spans more rows than the sieve size
    with rasterio.open(classes_path) as src:
        conf_src = rasterio.open(confidence_path) if confidence_path else None
        try:
            height, width, to_crs = src.height, src.width, src.transform
            open_regions: dict[int, Region] = {}
            carry: np.ndarray | None = None  # region ids along the previous strip's last row
            carry_class: np.ndarray | None = None
            next_id = 1
            for r0 in range(0, height, strip_rows):
                r1 = min(r0 + strip_rows, height)
                h0, h1 = max(0, r0 - halo), min(height, r1 + halo)
                cls = src.read(1, window=Window(0, h0, width, h1 - h0))
                if min_pixels > 1:
                    cls = features.sieve(cls, min_pixels, mask=cls != NODATA, connectivity=4)
                cls = cls[r0 - h0 : r1 - h0]
                conf = conf_src.read(1, window=Window(0, r0, width, r1 - r0)) if conf_src else None
                labels = label_regions(cls)
                n = int(labels.max())
                flat = labels.ravel()
                pixels = np.bincount(flat, minlength=n + 1)
                region_class = np.zeros(n + 1, dtype=np.int64)
                region_class[flat] = cls.ravel()
                if conf is not None:
                    ok = conf.ravel() != NODATA
                    conf_sum: np.ndarray = np.bincount(
                        flat[ok], weights=conf.ravel()[ok], minlength=n + 1
                    )
                    conf_n: np.ndarray = np.bincount(flat[ok], minlength=n + 1)
                else:
                    conf_sum = np.zeros(n + 1)
                    conf_n = np.zeros(n + 1, dtype=np.int64)
                strip_regions: dict[int, Region] = {}
                for geom, value in features.shapes(
                    labels, mask=labels > 0, connectivity=4, transform=Affine.translation(0, r0)
                ):
                    k = int(value)
                    rid = next_id + k - 1
                    if rid in strip_regions:  # a region traced in pieces (should not happen)
                        strip_regions[rid].parts.append(shape(geom))
                        continue
                    strip_regions[rid] = Region(
                        int(region_class[k]),
                        [shape(geom)],
                        int(pixels[k]),
                        float(conf_sum[k]),
                        int(conf_n[k]),
                    )
                ids = np.where(labels > 0, labels + (next_id - 1), 0)
                next_id += n

                uf = _UnionFind()
                for rid in (*open_regions, *strip_regions):
                    uf.find(rid)
                if carry is not None and carry_class is not None:
                    top = ids[0]
                    touch = (carry > 0) & (top > 0) & (carry_class == cls[0])
                    for a, b in set(zip(carry[touch].tolist(), top[touch].tolist(), strict=True)):
                        uf.union(a, b)
                merged: dict[int, Region] = {}
                for rid, region in (*open_regions.items(), *strip_regions.items()):
                    root = uf.find(rid)
                    if root in merged:
                        merged[root].absorb(region)
                    else:
                        merged[root] = region
                if r1 < height:
                    bottom = ids[-1]
                    still_open = {uf.find(int(r)) for r in np.unique(bottom[bottom > 0])}
                    carry = np.array([uf.find(int(r)) if r else 0 for r in bottom], dtype=np.int64)
                    carry_class = cls[-1].copy()
                else:
                    still_open = set()
                open_regions = {rid: merged[rid] for rid in still_open}
                done = [r for rid, r in merged.items() if rid not in still_open]
                if done:
                    yield _finish(done, to_crs, simplify_px)
        finally:
            if conf_src is not None:
                conf_src.close()


def _finish(regions: list[Region], to_crs: Affine, simplify_px: float) -> PolygonBatch:
    geoms = np.array(
        [r.parts[0] if len(r.parts) == 1 else shapely.union_all(r.parts) for r in regions],
        dtype=object,
    )
    if simplify_px > 0:
        geoms = shapely.coverage_simplify(geoms, simplify_px, simplify_boundary=False)
    matrix = np.array(to_crs.column_vectors, dtype=np.float64)  # (a, d), (b, e), (c, f)
    geoms = shapely.transform(geoms, lambda xy: xy @ matrix[:2] + matrix[2])
    conf = np.array(
        [r.conf_sum / r.conf_pixels if r.conf_pixels else np.nan for r in regions], dtype=np.float64
    )
    return PolygonBatch(
        class_id=np.array([r.class_id for r in regions], dtype=np.int64),
        geometry=geoms,
        pixels=np.array([r.pixels for r in regions], dtype=np.int64),
        confidence=conf,
    )
