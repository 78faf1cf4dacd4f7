"""Acquisition dates of rasters: from metadata tags, else from the file, folder or band file names.

Sentinel-2 product, tile and band file names carry the sensing date (``…_20210512T104021_…``,
``T33UUU_20170216T102101_B02.jp2``); exported or composited rasters often only keep it in a tag or
their name. One helper so ``classify`` (the STAC item's datetime, the ``GEOSEG_DATE`` tag of its
rasters) and ``zonal`` agree on a raster's date.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import date as Date
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

from geoseg.errors import InputError

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


class DateWarning(UserWarning):
    """No raster had a date: the rows are undated (``--date`` gives them one)."""


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


def raster_dates(
    rasters: Sequence[str | Path], given: Sequence[str | Date | None] | None = None
) -> list[Date | None]:
    """Each raster's date for a table of several (``geoseg zonal``): given, else its own, else
    its folder's. A mix of dated and undated rasters is refused, since the undated rows would
    silently match no other row; all undated gives a :class:`DateWarning`."""
    found = [
        as_date(g) if g is not None else _own_or_folder_date(Path(r))
        for r, g in zip(rasters, given or [None] * len(rasters), strict=True)
    ]
    missing = [str(r) for r, d in zip(rasters, found, strict=True) if d is None]
    if missing and len(missing) < len(rasters):
        dated = sorted({d.isoformat() for d in found if d is not None})
        raise InputError(
            f"no date found for {len(missing)} of {len(rasters)} raster(s) "
            f"(the others are dated {', '.join(dated)})",
            ", ".join(missing),
            "give every raster's date with --date, in order (Python: dates=)",
        )
    if missing:
        warnings.warn(
            DateWarning(
                f"no date found for {', '.join(missing)}: the rows have no date "
                "(give one per raster with --date)"
            ),
            stacklevel=3,
        )
    return found


def _own_or_folder_date(raster: Path) -> Date | None:
    """The raster's own date, else its folder's: a band file (``B10m.tif``) of a scene folder
    (``oscd_norcia_20171018/``) is dated like the scene."""
    when = raster_date(raster)
    if when is None and raster.is_file():
        when = parse_date(raster.resolve().parent.name)
    return when


def as_date(value: str | Date) -> Date:
    """A date given by the user (``--date``), in one of :func:`parse_date`'s forms."""
    if isinstance(value, Date):
        return value
    d = parse_date(str(value))
    if d is None:
        raise InputError(f"cannot read date {value!r}", "--date", "write YYYY-MM-DD")
    return d
