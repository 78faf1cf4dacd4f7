"""Sentinel-2 MSI band catalogue: canonical names, aliases, resolutions and wavelengths.

Bands are called by their canonical ESA name (``B02``, ``B8A``…) everywhere inside geoseg; this
module maps what files and users say (``B2``, ``blue``, ``nir08``…) onto those names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    name: str
    common_name: str
    resolution_m: int
    center_nm: float


BANDS: tuple[Band, ...] = (
    Band("B01", "coastal", 60, 443.0),
    Band("B02", "blue", 10, 490.0),
    Band("B03", "green", 10, 560.0),
    Band("B04", "red", 10, 665.0),
    Band("B05", "rededge1", 20, 705.0),
    Band("B06", "rededge2", 20, 740.0),
    Band("B07", "rededge3", 20, 783.0),
    Band("B08", "nir", 10, 842.0),
    Band("B8A", "nir08", 20, 865.0),
    Band("B09", "nir09", 60, 945.0),
    Band("B10", "cirrus", 60, 1375.0),
    Band("B11", "swir16", 20, 1610.0),
    Band("B12", "swir22", 20, 2190.0),
)
BY_NAME: dict[str, Band] = {b.name: b for b in BANDS}

#: Band order of full products: 13 bands for L1C, 12 for L2A (no cirrus band).
L1C_ORDER: tuple[str, ...] = tuple(b.name for b in BANDS)
L2A_ORDER: tuple[str, ...] = tuple(n for n in L1C_ORDER if n != "B10")

_EXTRA_ALIASES = {
    "coastal_aerosol": "B01",
    "aerosol": "B01",
    "rededge": "B05",
    "nir_narrow": "B8A",
    "narrow_nir": "B8A",
    "water_vapour": "B09",
    "water_vapor": "B09",
    "swir1": "B11",
    "swir2": "B12",
    "swir_1": "B11",
    "swir_2": "B12",
}

_NAME_RE = re.compile(r"^b0?(\d{1,2}|8a)$")
_IN_TEXT_RE = re.compile(r"(?<![a-z0-9])b(0?[1-9]|1[0-2]|8a)(?![0-9a-z])", re.IGNORECASE)


def canonical(name: str) -> str | None:
    """Canonical band name for an alias (``B2``, ``b02``, ``blue``, ``nir08``…), or None."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    match = _NAME_RE.match(key)
    if match:
        num = match.group(1)
        cand = "B8A" if num == "8a" else f"B{int(num):02d}"
        return cand if cand in BY_NAME else None
    for band in BANDS:
        if key == band.common_name:
            return band.name
    return _EXTRA_ALIASES.get(key)


def band_in_filename(stem: str) -> str | None:
    """Band named inside a file name such as ``T32TQM_20200601_B04_10m`` (one band only)."""
    found = {canonical("B" + m.group(1)) for m in _IN_TEXT_RE.finditer(stem)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None
