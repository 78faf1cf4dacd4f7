"""The two maps of ``geoseg change``: found, checked and their legends matched before any work.

An input is a class raster (``*_classes.tif`` of ``geoseg classify``, any raster with a
``GEOSEG_CLASSES`` legend, or a Dynamic World ``label.tif``, told by its colour table) or a folder
holding one. Everything that can be refused is refused here, so a bad input writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds

from geoseg.classes import DW_CLASSES, NODATA, ClassInfo
from geoseg.core.change import fallback_colors
from geoseg.errors import InputError
from geoseg.io.class_raster import class_names, dw_palette, not_class_values, read_legend
from geoseg.io.grid import Grid

#: Dynamic World's legend, as ``label.tif`` of the shared crops codes it.
DW_LEGEND: list[tuple[str, str]] = [(c.name, c.color) for c in DW_CLASSES]
ACCEPTED = "a geoseg *_classes.tif (or its output folder) or a Dynamic World label.tif"


@dataclass(frozen=True)
class ClassMap:
    """One input: its class raster, legend, grid, nodata and (optional) confidence raster."""

    given: Path
    path: Path
    names: list[str]
    colors: list[str]
    grid: Grid
    nodata: float | None
    confidence: Path | None

    @property
    def fill(self) -> float:
        """The value of pixels without a class (outside the raster too)."""
        return self.nodata if self.nodata is not None else NODATA


def class_raster_of(path: Path, role: str) -> Path:
    """The class raster a path names: itself, or the one ``*_classes.tif`` (else ``label.tif``)
    in a folder."""
    if not path.exists():
        raise InputError(f"{role} map not found", path, f"give {ACCEPTED}")
    if not path.is_dir():
        return path
    found = sorted(path.glob("*_classes.tif"))
    if not found and (path / "label.tif").is_file():
        found = [path / "label.tif"]
    if len(found) != 1:
        what = "no *_classes.tif" if not found else f"{len(found)} *_classes.tif files"
        raise InputError(f"{role} folder holds {what}", path, "give the class raster itself")
    return found[0]


def open_map(given: str | Path, role: str) -> ClassMap:
    """Check one input and read its legend (see module docstring)."""
    path = class_raster_of(Path(given), role)
    try:
        with rasterio.open(path) as ds:
            grid = Grid(ds.crs, ds.transform, ds.width, ds.height)
            reason = not_class_values(ds)
            nodata = ds.nodata
            dw = dw_palette(ds)
    except RasterioError as exc:
        raise InputError(f"{role} map is not a readable raster", path, f"give {ACCEPTED}") from exc
    if reason:
        raise InputError(f"{role} map is not a class raster ({reason})", path, f"give {ACCEPTED}")
    if grid.crs is None or grid.transform.is_identity:
        raise InputError(f"{role} map is not georeferenced", path, "give a raster with a CRS")
    names = class_names(path)
    if names is None and not dw:
        raise InputError(
            f"{role} map has no class legend (no GEOSEG_CLASSES tag, not a Dynamic World label)",
            path,
            f"give {ACCEPTED}",
        )
    if names is None:
        names, colors = [n for n, _ in DW_LEGEND], [c for _, c in DW_LEGEND]
    else:
        colors = read_legend(path).colors
        if len(colors) != len(names):
            colors = fallback_colors(len(names))
    return ClassMap(Path(given), path, names, colors, grid, nodata, _confidence_of(path))


def _confidence_of(classes: Path) -> Path | None:
    """``<scene>_confidence.tif`` beside ``<scene>_classes.tif``, when there."""
    if not classes.name.endswith("_classes.tif"):
        return None
    conf = classes.with_name(classes.name.removesuffix("_classes.tif") + "_confidence.tif")
    return conf if conf.is_file() else None


def legend(before: ClassMap) -> list[ClassInfo]:
    """BEFORE's classes: the change's rows and columns (built unvalidated: any legend name)."""
    return [
        ClassInfo.model_construct(id=i, name=n, color=c)
        for i, (n, c) in enumerate(zip(before.names, before.colors, strict=True))
    ]


def after_to_before(before: ClassMap, after: ClassMap) -> np.ndarray:
    """Look-up table from AFTER's class ids to BEFORE's, matched by name (the order may differ);
    different class sets cannot be compared pixel by pixel and are refused."""
    b, a = before.names, after.names
    if len(set(b)) != len(b) or len(set(a)) != len(a) or set(a) != set(b):
        only_b = ", ".join(sorted(set(b) - set(a))) or "-"
        only_a = ", ".join(sorted(set(a) - set(b))) or "-"
        raise InputError(
            f"the maps have different classes (only before: {only_b}; only after: {only_a})",
            f"{before.path}, {after.path}",
            "compare maps of the same legend, e.g. classified with the same model",
        )
    return np.array([b.index(name) for name in a], dtype=np.int64)


def check_overlap(before: ClassMap, after: ClassMap) -> None:
    """Refuse maps whose extents do not overlap (usually two places, or a CRS mix-up)."""
    left, bottom, right, top = before.grid.bounds
    a_left, a_bottom, a_right, a_top = transform_bounds(
        after.grid.crs, before.grid.crs, *after.grid.bounds
    )
    if min(right, a_right) <= max(left, a_left) or min(top, a_top) <= max(bottom, a_bottom):
        raise InputError(
            "the maps do not overlap",
            f"{before.path}, {after.path}",
            "give two maps of the same place (check their CRS)",
        )
