"""Acquisition dates of rasters: from metadata tags, else from the file or folder name.

Sentinel-2 product and tile names carry the sensing date (``…_20210512T104021_…``); exported or
composited rasters often only keep it in a tag or their name. One helper so ``zonal`` and the STAC
item agree on a raster's date.
"""

from __future__ import annotations

import re
from datetime import date as Date
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

DATE_TAGS = (
    "GEOSEG_DATE",
    "S2_SENSING_TIME",  # SAFE and STAC inputs (geoseg.io.safe, geoseg.io.stac)
    "DATETIME",
    "TIFFTAG_DATETIME",
    "ACQUISITION_DATE",
    "SENSING_TIME",
    "DATATAKE_SENSING_START",
    "PRODUCT_START_TIME",
)
_DATE_RE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


def parse_date(text: str) -> Date | None:
    """First plausible ``YYYYMMDD`` / ``YYYY-MM-DD`` in ``text``."""
    for m in _DATE_RE.finditer(text):
        try:
            d = Date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
        if 1970 <= d.year <= 2100:
            return d
    return None


def raster_date(path: str | Path, tags: dict[str, str] | None = None) -> Date | None:
    """A raster's date: from its tags (acquisition time, or the scene a classify run named),
    else from its file or folder name."""
    p = Path(path)
    if tags is None:
        tags = _tags(p)
    for key in DATE_TAGS:
        if key in tags and (d := parse_date(tags[key])):
            return d
    if "GEOSEG_SOURCE" in tags and (d := parse_date(Path(tags["GEOSEG_SOURCE"]).name)):
        return d
    return parse_date(p.name)


def _tags(path: Path) -> dict[str, str]:
    if path.is_dir():
        return {}
    try:
        with rasterio.open(path) as ds:
            return {k.upper(): v for k, v in ds.tags().items()}
    except RasterioError:
        return {}
