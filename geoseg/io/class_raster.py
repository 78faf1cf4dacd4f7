"""The class raster's legend, written and read in one place.

A class raster carries its legend three ways, each for a different reader: a colour table (QGIS,
GDAL viewers), PAM category names in ``.aux.xml`` (``gdalinfo``, ArcGIS) and the
``GEOSEG_CLASSES`` tag (geoseg itself: evaluate, zonal, sampling, xarray).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from rasterio.errors import RasterioError

from geoseg.classes import DW_CLASSES, LEGEND_TAG, NODATA, ClassInfo, legend_json, parse_legend

#: Older rasters named their classes with this tag.
_LEGACY_TAG = "CLASS_NAMES"
#: Tag of geoseg rasters whose values are a measure (the confidence raster), not class values.
UNITS_TAG = "GEOSEG_UNITS"


@dataclass
class Legend:
    """Class names by value, and their colours when the raster has a colour table."""

    names: list[str]
    colors: list[str] = field(default_factory=list)


def tags(classes: Sequence[ClassInfo]) -> dict[str, str]:
    """Raster tags naming the classes."""
    return {LEGEND_TAG: legend_json(classes)}


def colormap(classes: Sequence[ClassInfo]) -> dict[int, tuple[int, int, int, int]]:
    """Colour table: each class its colour, nodata transparent."""
    cmap = {c.id: (*c.rgb, 255) for c in classes}
    cmap[NODATA] = (0, 0, 0, 0)
    return cmap


def write_category_names(raster: Path, classes: Sequence[ClassInfo]) -> Path:
    """GDAL PAM sidecar (``.aux.xml``) naming the class values, so GDAL tools show class names."""
    aux = raster.with_name(raster.name + ".aux.xml")
    names = {c.id: c.name for c in classes}
    cats = "".join(
        f"<Category>{escape(names.get(v, ''))}</Category>" for v in range(max(names) + 1)
    )
    aux.write_text(
        f'<PAMDataset><PAMRasterBand band="1"><CategoryNames>{cats}</CategoryNames>'
        "</PAMRasterBand></PAMDataset>\n",
        encoding="utf-8",  # names may hold non-ASCII ("trees → crops")
    )
    return aux


def class_names(raster: str | Path) -> list[str] | None:
    """Class names written by ``geoseg classify`` (None: not a geoseg class raster)."""
    try:
        with rasterio.open(raster) as ds:
            found = ds.tags()
    except RasterioError:
        return None
    text = found.get(LEGEND_TAG) or found.get(_LEGACY_TAG)
    return parse_legend(text) if text else None


def dw_palette(ds: Any) -> bool:
    """Whether an open raster's colour table starts with Dynamic World's palette: how a
    ``label.tif`` of Dynamic World (which has no names in it) is told apart."""
    try:
        cmap = ds.colormap(1)
    except ValueError:
        return False
    rgb = ["#{:02x}{:02x}{:02x}".format(*cmap.get(i, (0, 0, 0))[:3]) for i in range(9)]
    return rgb == [c.color for c in DW_CLASSES]


def not_class_values(ds: Any) -> str | None:
    """Why an open raster cannot hold class values (None: it can): they are one band of integers,
    not a measure. The confidence raster carries the legend tag too: the tag cannot tell."""
    if ds.count != 1:
        return f"{ds.count} bands"
    if not np.issubdtype(np.dtype(ds.dtypes[0]), np.integer):
        return f"{ds.dtypes[0]} values"
    units = ds.tags().get(UNITS_TAG)
    return f"its values are {units}" if units else None


def read_legend(raster: str | Path) -> Legend:
    """Names and colours of a class raster's classes (empty when it carries no legend)."""
    names = class_names(raster) or []
    try:
        with rasterio.open(raster) as ds:
            cmap = ds.colormap(1)
        colors = ["#{:02x}{:02x}{:02x}".format(*cmap[i][:3]) for i in range(len(names))]
    except (RasterioError, ValueError, KeyError):
        colors = []
    return Legend(names, colors)
