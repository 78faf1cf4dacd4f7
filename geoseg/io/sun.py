"""Where the sun stood, and which detected shadows a detected cloud can have cast.

The cloud-shadow network (:mod:`geoseg.io.clouds`) calls any dark patch of the right shape a
shadow: terrain shadow on a steep slope, dark conifer stands. A real cloud shadow lies away from
the sun, at ``h · tan(zenith)`` from its cloud (``h`` the cloud's height), so a shadow is kept
only where a detected cloud, moved that way by some plausible height, lands on it.

Sun angles come from the product (SAFE tile metadata, STAC ``view:``/``s2:`` properties) and
otherwise from the acquisition date and the scene's place at 10:30 mean local solar time (the
Sentinel-2 orbit's descending node). Without a date the direction is unknown: a shadow is then
kept when a cloud lies within the longest plausible distance in any direction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import numpy as np
from scipy import ndimage

#: Heights (m) of the clouds whose shadows are kept: low cumulus to the top of thick mid-level
#: clouds (Fmask searches 200 m to 12 km; a thick cloud casting a dark shadow is rarely higher).
CLOUD_BASE_M = 200.0
CLOUD_TOP_M = 10_000.0
#: The longest shadow distance without a known sun (zenith 65 degrees: winter at mid latitudes).
FALLBACK_ZENITH = 65.0
#: Local mean solar time of a Sentinel-2 acquisition (descending node), hours.
OVERPASS_HOURS = 10.5
#: The projection is swept on cells this many times coarser than the mask's (speed), then
#: grown by :data:`SLACK_CELLS` mask cells (cloud edges, the satellite's oblique view).
SWEEP_FACTOR = 4
SLACK_CELLS = 3


def sun_from_metadata(provenance: Mapping[str, str]) -> tuple[float, float] | None:
    """(zenith, azimuth) in degrees as the product states them, if it does."""
    try:
        return float(provenance["S2_SUN_ZENITH"]), float(provenance["S2_SUN_AZIMUTH"])
    except (KeyError, ValueError):
        return None


def sun_at_overpass(day: date, lat: float, lon: float) -> tuple[float, float]:
    """(zenith, azimuth) in degrees at 10:30 mean local solar time: declination by Cooper's
    formula, good to about a degree, which moves a 10 km high cloud's shadow by ~300 m at most."""
    doy = day.timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(math.radians(360.0 * (284 + doy) / 365.0))
    hour = math.radians(15.0 * (OVERPASS_HOURS - 12.0))
    phi = math.radians(lat)
    cos_z = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour)
    zenith = math.degrees(math.acos(max(-1.0, min(1.0, cos_z))))
    azimuth = math.degrees(
        math.atan2(
            -math.sin(hour),
            math.tan(decl) * math.cos(phi) - math.sin(phi) * math.cos(hour),
        )
    )
    return zenith, azimuth % 360.0


def cast_by_clouds(
    cloud: np.ndarray, cell_m: float, sun: tuple[float, float] | None, north_up: bool = True
) -> np.ndarray:
    """Cells a detected cloud can shade: the clouds moved away from the sun by every height
    from :data:`CLOUD_BASE_M` to :data:`CLOUD_TOP_M` (a swept projection), grown by
    :data:`SLACK_CELLS`; with no sun, every cell within the longest distance of a cloud."""
    if not cloud.any():
        return np.zeros_like(cloud)
    f = SWEEP_FACTOR
    h, w = cloud.shape
    hc, wc = -(-h // f), -(-w // f)
    padded = np.zeros((hc * f, wc * f), dtype=bool)
    padded[:h, :w] = cloud
    coarse = np.asarray(padded.reshape(hc, f, wc, f).any(axis=(1, 3)))
    step = cell_m * f
    if sun is None or not north_up:
        reach = CLOUD_TOP_M * math.tan(math.radians(FALLBACK_ZENITH)) / step
        swept = ndimage.distance_transform_edt(~coarse) <= reach
    else:
        swept = _sweep(coarse, step, *sun)
    fine = np.repeat(np.repeat(swept, f, axis=0), f, axis=1)[:h, :w]
    return np.asarray(ndimage.binary_dilation(fine | cloud, _disk(SLACK_CELLS)), dtype=bool)


def _sweep(cloud: np.ndarray, step_m: float, zenith: float, azimuth: float) -> np.ndarray:
    """``cloud`` shifted away from the sun by each whole cell from the lowest to the highest
    cloud's shadow distance, OR-ed (rows grow southwards: north-up grid)."""
    tan_z = math.tan(math.radians(min(zenith, 85.0)))
    near, far = CLOUD_BASE_M * tan_z / step_m, CLOUD_TOP_M * tan_z / step_m
    away = math.radians(azimuth + 180.0)  # the shadow's direction from its cloud
    dx, dy = math.sin(away), -math.cos(away)  # east = +col, north = -row
    out = np.zeros_like(cloud)
    h, w = cloud.shape
    for d in np.arange(math.floor(near), math.ceil(far) + 1):
        r, c = round(d * dy), round(d * dx)
        if abs(r) >= h or abs(c) >= w:
            break
        out[max(r, 0) : h + min(r, 0), max(c, 0) : w + min(c, 0)] |= cloud[
            max(-r, 0) : h - max(r, 0), max(-c, 0) : w - max(c, 0)
        ]
    return out


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return np.asarray(x * x + y * y <= radius * radius)
