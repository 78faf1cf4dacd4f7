"""Acquisition dates of rasters: from metadata tags, else from the file, folder or band file names.

Sentinel-2 product, tile and band file names carry the sensing date (``…_20210512T104021_…``,
``T33UUU_20170216T102101_B02.jp2``); exported or composited rasters often only keep it in a tag or
their name. One helper so ``classify`` (the STAC item's datetime, the ``GEOSEG_DATE`` tag of its
rasters) and ``zonal`` agree on a raster's date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date as Date
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

#: the tag ``classify`` writes a scene's acquisition date into (read first by :func:`raster_date`)
DATE_TAG = "GEOSEG_DATE"
#: tags naming the acquisition, most specific first (keys compared upper-cased)
DATE_TAGS = (
    DATE_TAG,
    "S2_SENSING_TIME",  # SAFE and STAC inputs (geoseg.io.safe, geoseg.io.stac)
    "ACQUISITION_DATE",
    "DATE_ACQUIRED",  # Landsat-style metadata
    "SENSING_TIME",
    "DATATAKE_SENSING_START",
    "PRODUCT_START_TIME",
    "DATETIME",
    "DATE",
)
#: the TIFF's own creation time: often the export's, so only when nothing else dates the raster
LAST_RESORT_TAG = "TIFFTAG_DATETIME"
#: ``YYYYMMDD``, ``YYYY-MM-DD``, ``YYYY:MM:DD`` (TIFF) or ``YYYY/MM/DD``
_DATE_RE = re.compile(r"(?<!\d)(\d{4})([-:/]?)(\d{2})\2(\d{2})(?!\d)")
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt")


def parse_date(text: str) -> Date | None:
    """First plausible ``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY:MM:DD`` in ``text``."""
    for m in _DATE_RE.finditer(text):
        try:
            d = Date(int(m[1]), int(m[3]), int(m[4]))
        except ValueError:
            continue
        if 1970 <= d.year <= 2100:
            return d
    return None


def raster_date(
    path: str | Path, tags: Mapping[str, str] | None = None, files: Iterable[str | Path] = ()
) -> Date | None:
    """A raster's date: from its tags (acquisition time, or the scene a classify run named),
    else from its file or folder name, else from the names of ``files`` (a scene's band files;
    by default a folder's raster files), else from the TIFF creation time."""
    p = Path(path)
    found = {k.upper(): v for k, v in (_tags(p) if tags is None else tags).items()}
    for key in DATE_TAGS:
        if key in found and (d := parse_date(found[key])):
            return d
    names = [Path(found["GEOSEG_SOURCE"]).name] if "GEOSEG_SOURCE" in found else []
    names.append(p.name)
    names += [Path(f).name for f in (files or _raster_files(p))]
    for name in names:
        if d := parse_date(name):
            return d
    return parse_date(found.get(LAST_RESORT_TAG, ""))


def _tags(path: Path) -> dict[str, str]:
    if path.is_dir():
        return {}
    try:
        with rasterio.open(path) as ds:
            return dict(ds.tags())
    except RasterioError:
        return {}


def _raster_files(path: Path) -> list[Path]:
    """The raster files of a folder (a scene given as a folder of band files)."""
    try:
        return sorted(f for f in path.iterdir() if f.suffix.lower() in _RASTER_SUFFIXES)
    except OSError:  # not a folder (a file, a URL)
        return []
