"""Areas of interest: vector polygons or a bounding box as masks, rasterised per window.

An ``--aoi`` file (any OGR vector, any CRS) or a ``--bbox`` rectangle becomes a keep mask: pixels
outside it are masked like those outside a ``--keep`` raster, so everything downstream (nodata
outside, statistics over valid pixels only) is the same. The geometry is reprojected once to the
scene CRS and kept as WKB in the :class:`~geoseg.io.masks.MaskSource` (small and picklable for
workers); each window is rasterised on its own, so memory stays per window, never the scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geoseg.errors import InputError
from geoseg.io.grid import Grid
from geoseg.io.masks import MaskSource

#: Extensions read as vectors by ``--keep``/``--mask`` (anything else is tried as a raster first).
VECTOR_SUFFIXES = frozenset({".gpkg", ".shp", ".geojson", ".json", ".fgb", ".kml", ".gml"})


def is_vector(path: str | Path) -> bool:
    """Whether ``path`` is a vector file: by extension, else whether OGR opens it as one."""
    p = Path(path)
    if p.suffix.lower() in VECTOR_SUFFIXES:
        return True
    if p.suffix.lower() in {".tif", ".tiff", ".vrt", ".jp2", ".img"} or not p.is_file():
        return False
    try:
        import pyogrio

        return bool(pyogrio.list_layers(p).size)
    except Exception:  # not something OGR reads: a raster, or unreadable (reported as a raster)
        return False


def vector_mask(path: str | Path, grid: Grid, name: str, keep: bool = True) -> MaskSource:
    """A mask from the polygons of a vector file (inside = nonzero), reprojected to the scene."""
    where = Path(path)
    flag = f"--{name}"
    if not where.exists():
        raise InputError("vector file not found", where, f"check the {flag} path")
    import geopandas as gpd

    try:
        frame = gpd.read_file(where)
    except Exception as exc:  # pyogrio/fiona errors differ by driver and version
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable vector file ({first})", where, flag) from exc
    if frame.crs is None:
        raise InputError("vector file has no CRS", where, "save it with a coordinate system")
    polygons = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    polygons = polygons[polygons.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InputError("vector file holds no polygons", where, f"give {flag} polygon features")
    shape = polygons.to_crs(grid.crs).union_all()
    return _on_scene(shape, grid, name, str(where), keep)


def bbox_mask(bbox: Sequence[float], crs: str, grid: Grid) -> MaskSource:
    """A keep mask from a ``(minx, miny, maxx, maxy)`` rectangle in ``crs``, densified so it
    stays the same area once reprojected."""
    import geopandas as gpd
    from shapely.geometry import box

    rect = box(*bbox).segmentize(max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 64)
    shape = gpd.GeoSeries([rect], crs=crs).to_crs(grid.crs).iloc[0]
    where = f"--bbox {','.join(f'{v:g}' for v in bbox)} in {crs}"
    return _on_scene(shape, grid, "bbox", where, True, path="")


def _on_scene(
    shape: Any, grid: Grid, name: str, where: str, keep: bool, path: str | None = None
) -> MaskSource:
    """The mask of ``shape`` (scene CRS), refused when it does not overlap the scene."""
    from shapely import to_wkb
    from shapely.geometry import box

    if not shape.is_valid:
        shape = shape.buffer(0)
    if shape.intersection(box(*grid.bounds)).area <= 0:
        raise InputError(
            f"--{name} does not overlap the scene", where, "give an area inside the scene"
        )
    wkb = bytes(to_wkb(shape))
    return MaskSource(name, where if path is None else path, 1, None, None, keep, wkb)


def check_bbox(value: Any) -> tuple[float, float, float, float] | None:
    """``"minx,miny,maxx,maxy"`` (or four numbers) → a checked box; ValueError if not one."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        nums = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise ValueError("give four numbers minx,miny,maxx,maxy") from None
    if len(nums) != 4 or not all(v == v and abs(v) != float("inf") for v in nums):
        raise ValueError("give four numbers minx,miny,maxx,maxy")
    if not (nums[0] < nums[2] and nums[1] < nums[3]):
        raise ValueError("minx must be < maxx and miny < maxy")
    return nums[0], nums[1], nums[2], nums[3]


def check_crs(value: str) -> str:
    """A CRS pyproj knows (EPSG code, WKT, PROJ string); ValueError if not."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        raise ValueError("not a CRS pyproj knows; use e.g. EPSG:4326") from None
    return value
