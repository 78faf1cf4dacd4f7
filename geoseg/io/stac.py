"""Open STAC items whose assets are per-band rasters (COGs), local or remote.

Assets are matched to bands by their ``eo:bands`` name (``B02``, ``blue``…), then by the asset key
(Earth Search: ``blue``, ``nir08``, ``swir16``…; Planetary Computer: ``B02``, ``B8A``…), then by an
unambiguous common name; ``scl``/``SCL`` becomes the cloud mask. When a band has several assets
(Earth Search's ``blue`` and ``blue-jp2``) the GeoTIFF one wins. Relative hrefs resolve against the
item; ``http(s)://`` assets are read through GDAL's ``/vsicurl/``, ``s3://`` through ``/vsis3/``,
window by window like local files. Reflectance scaling: the asset's ``raster:bands`` scale/offset,
else DN / 10000 with the offset of ``s2:processing_baseline`` (≥ 04.00 → -1000 DN).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pystac

from geoseg.bands import BANDS, L1C_ORDER, canonical
from geoseg.errors import BandError, InputError
from geoseg.io.grid import finest, probe
from geoseg.io.masks import SCL_CLOUD_CLASSES, MaskSource
from geoseg.io.scene import BandSource, Scene

QUANTIFICATION = 10000.0
PB04_OFFSET = -1000.0
_TILE_RE = re.compile(r"(?:^|_)T?(\d{2}[A-Z]{3})(?:_|$)")
#: Common names shared by several bands (eo's ``rededge`` covers B05–B07): never used to match.
_AMBIGUOUS = {"rededge"}
_COMMON = {b.common_name: b.name for b in BANDS}


def is_stac(path: str | Path) -> bool:
    """A URL or a ``.json`` file: read as a STAC item."""
    text = str(path)
    return "://" in text or text.lower().endswith(".json")


def open_stac(
    href: str | Path,
    nodata: float | None = None,
    offset: float | None = None,
    scale: float | None = None,
) -> Scene:
    """Open a STAC item (file path or URL) as a lazy :class:`Scene` of reflectance."""
    source = str(href)
    item = _load(source)
    props = item.properties
    chosen: dict[str, tuple[int, str, pystac.Asset]] = {}
    for key, asset in item.assets.items():
        name = _asset_band(key, asset)
        if name is None:
            continue
        rank = _format_rank(asset)
        if rank is not None and (name not in chosen or rank < chosen[name][0]):
            chosen[name] = (rank, key, asset)
    if not any(n != "SCL" for n in chosen):
        raise BandError(
            "STAC item has no single-band raster assets named after Sentinel-2 bands",
            source,
            "give an item whose assets are per-band COGs (e.g. B02 or blue, with eo:bands)",
        )
    baseline = str(props.get("s2:processing_baseline", "") or "")
    pb_offset = PB04_OFFSET if _baseline(baseline) >= 4.0 else 0.0
    sources: dict[str, BandSource] = {}
    masks: list[MaskSource] = []
    grids = []
    for name, (_, key, asset) in chosen.items():
        href_abs = asset.get_absolute_href() or asset.href
        gdal_path = _gdal_path(href_abs)
        if "://" not in href_abs and not Path(href_abs).is_file():
            raise InputError(
                f"asset {key!r} not found: {href_abs}",
                source,
                "check the item's hrefs (relative ones resolve against the item's folder)",
            )
        grid, dtype = probe(gdal_path, f"{source}: asset {key!r} ({href_abs})")
        rb = _raster_band(asset)
        if name == "SCL":
            masks.append(MaskSource("SCL", gdal_path, 1, SCL_CLOUD_CLASSES, 0))
            continue
        grids.append(grid)
        band_nodata = nodata if nodata is not None else rb.get("nodata", 0.0)
        if offset is None and scale is None and "scale" in rb:
            gain, refl_offset = float(rb["scale"]), float(rb.get("offset", 0.0))
        else:
            gain = (
                scale
                if scale is not None
                else (1.0 if dtype.startswith("float") else 1.0 / QUANTIFICATION)
            )
            refl_offset = (offset if offset is not None else pb_offset) * gain
        sources[name] = BandSource(name, gdal_path, 1, gain, refl_offset, band_nodata)
    order = {n: i for i, n in enumerate(L1C_ORDER)}
    level = str(props.get("s2:product_type") or props.get("s2:processing_level") or "")
    provenance = {
        "S2_PRODUCT": str(props.get("s2:product_uri") or item.id),
        "S2_PROCESSING_LEVEL": "L2A" if "2A" in level or masks else ("L1C" if level else ""),
        "S2_PROCESSING_BASELINE": baseline,
        "S2_TILE_ID": _tile(item),
        "S2_SENSING_TIME": item.datetime.isoformat() if item.datetime else "",
        "S2_SPACECRAFT": str(props.get("platform", "")),
        "STAC_ITEM": item.id,
        **_sun_angles(props),
    }
    return Scene(
        source=source,
        grid=finest(grids),
        bands=dict(sorted(sources.items(), key=lambda kv: order[kv[0]])),
        kind="stac",
        provenance={k: v for k, v in provenance.items() if v},
        masks=masks,
    )


def _sun_angles(props: dict[str, Any]) -> dict[str, str]:
    """Mean sun zenith and azimuth as the item states them (Planetary Computer:
    ``s2:mean_solar_*``; Earth Search: ``view:sun_*``, elevation = 90° - zenith), which point the
    cloud mask's shadow search; without them it estimates the sun from the date and place."""
    pairs = (
        ("s2:mean_solar_zenith", "s2:mean_solar_azimuth", False),
        ("view:sun_elevation", "view:sun_azimuth", True),
    )
    for first, azimuth_key, elevation in pairs:
        try:
            angle, azimuth = float(props[first]), float(props[azimuth_key])
        except (KeyError, TypeError, ValueError):
            continue
        zenith = 90.0 - angle if elevation else angle
        return {"S2_SUN_ZENITH": f"{zenith:g}", "S2_SUN_AZIMUTH": f"{azimuth:g}"}
    return {}


def _load(source: str) -> pystac.Item:
    if "://" not in source and not Path(source).is_file():
        raise InputError("STAC item not found", source, "check the path or URL of the item JSON")
    try:
        text = pystac.StacIO.default().read_text(source)
    except Exception as exc:  # urllib, urllib3 and OS errors alike: the fetch failed
        raise InputError(
            f"cannot fetch the STAC item ({type(exc).__name__}: {exc})",
            source,
            "check the path or URL and the network",
        ) from exc
    try:
        obj = pystac.read_dict(json.loads(text), href=source)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"STAC item is not valid JSON ({exc})", source, "download the item again"
        ) from exc
    except (pystac.STACError, KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"not a STAC item ({type(exc).__name__}: {exc})",
            source,
            "give a STAC Item JSON (type: Feature), not a collection or catalog",
        ) from exc
    if not isinstance(obj, pystac.Item):
        raise InputError(
            f"a STAC {type(obj).__name__}, not an item",
            source,
            "give one item of the collection (one scene), e.g. …/collections/…/items/<id>",
        )
    return obj


def _asset_band(key: str, asset: pystac.Asset) -> str | None:
    """Canonical band (or ``SCL``) an asset holds; None for multi-band or non-band assets."""
    if key.lower() == "scl":
        return "SCL"
    eo = asset.extra_fields.get("eo:bands") or asset.extra_fields.get("bands") or []
    if len(eo) > 1:
        return None  # e.g. the true-colour "visual" asset
    if eo:
        band = eo[0]
        for text in (band.get("name"), key):
            if text and (name := canonical(str(text))) is not None:
                return name
        common = band.get("common_name") or band.get("eo:common_name")
        if common and common not in _AMBIGUOUS:
            return _COMMON.get(str(common))
        return None
    return canonical(key)


def _format_rank(asset: pystac.Asset) -> int | None:
    """GeoTIFF/COG first, then JPEG 2000; None for media types that are not rasters."""
    media = (asset.media_type or "").lower()
    href = asset.href.lower().split("?")[0]
    if "tiff" in media or href.endswith((".tif", ".tiff")):
        return 0
    if "jp2" in media or href.endswith(".jp2"):
        return 1
    if media and not media.startswith("image/"):
        return None  # xml, json, html…
    return 2


def _raster_band(asset: pystac.Asset) -> dict[str, Any]:
    bands = asset.extra_fields.get("raster:bands") or []
    return dict(bands[0]) if len(bands) == 1 else {}


def _gdal_path(href: str) -> str:
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    if href.startswith("s3://"):
        return "/vsis3/" + href[len("s3://") :]
    if href.startswith("file://"):
        return href[len("file://") :]
    return href


def _baseline(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _tile(item: pystac.Item) -> str:
    props = item.properties
    if props.get("s2:mgrs_tile"):
        return str(props["s2:mgrs_tile"]).lstrip("T")
    parts = [props.get(k) for k in ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square")]
    if all(parts):
        return f"{int(parts[0]):02d}{parts[1]}{parts[2]}"  # type: ignore[arg-type]
    for text in (props.get("s2:tile_id"), props.get("s2:product_uri"), item.id):
        if text and (m := _TILE_RE.search(str(text))):
            return m.group(1)
    return ""
