"""Build small Sentinel-2 products at test time from the real Norcia crop in ../shared/data.

The Norcia crop (L1C, 348 x 299 px at 10 m, nodata wedges at the edges) is repackaged as users get
scenes: a SAFE folder (L1C or L2A layout, JPEG 2000 bands at their native 10/20/60 m resolution and
a minimal but real-shaped MTD XML), its zip, and a STAC item with per-band COGs. The DN are the
crop's own, so every reader must give the same reflectance as the GeoTIFF folder. For L2A
products with baseline ≥ 04.00, 1000 is added to the DN and the metadata states the -1000 offset.
B01 (60 m) is the 6 x 6 block mean of B02: the crop has no 60 m band, and the layout should.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from tests.conftest import NORCIA

TILE = "33TUH"
SENSING = "20171018T101021"
SENSING_ISO = "2017-10-18T10:10:21.026Z"
#: Mean sun zenith and azimuth the fake products state (MTD_TL.xml, STAC properties): values a
#: date-and-place estimate would not give, so a test sees which one the reader took.
SUN = (47.25, 171.5)
#: SCL test pattern on the 20 m grid: (class, rows, cols), all inside the crop's valid data.
SCL_BLOCKS = (
    (9, slice(40, 60), slice(40, 70)),  # cloud high probability: 20 x 30
    (3, slice(80, 90), slice(60, 80)),  # cloud shadow: 10 x 20
    (10, slice(100, 110), slice(100, 110)),  # thin cirrus: 10 x 10
    (11, slice(20, 30), slice(100, 110)),  # snow: not masked by default
)
#: 10 m pixels the default SCL classes (3, 8, 9, 10) mask: 4 per 20 m pixel.
SCL_MASKED_10M = 4 * (20 * 30 + 10 * 20 + 10 * 10)


@dataclass
class Bands:
    """The crop's bands as DN at native resolution: name → (array, transform)."""

    crs: rasterio.crs.CRS
    arrays: dict[str, tuple[np.ndarray, Affine]] = field(default_factory=dict)


def norcia_bands() -> Bands:
    out: Bands | None = None
    for file in ("B10m.tif", "B20m.tif"):
        with rasterio.open(NORCIA / file) as ds:
            out = out or Bands(ds.crs)
            for i, name in enumerate(ds.descriptions, start=1):
                out.arrays[str(name)] = (ds.read(i), ds.transform)
    assert out is not None
    b02, t10 = out.arrays["B02"]
    h, w = -(-b02.shape[0] // 6) * 6, -(-b02.shape[1] // 6) * 6
    padded = np.zeros((h, w), dtype=np.float64)
    padded[: b02.shape[0], : b02.shape[1]] = b02
    blocks = padded.reshape(h // 6, 6, w // 6, 6)
    counts = (blocks > 0).sum(axis=(1, 3))
    mean = np.where(counts > 0, blocks.sum(axis=(1, 3)) / np.maximum(counts, 1), 0)
    out.arrays["B01"] = (np.rint(mean).astype(np.uint16), t10 * Affine.scale(6))
    return out


def scl_array(bands: Bands) -> tuple[np.ndarray, Affine]:
    """20 m SCL: vegetation (4) where the crop has data, 0 outside, and :data:`SCL_BLOCKS`."""
    b05, t20 = bands.arrays["B05"]
    scl = np.where(b05 > 0, 4, 0).astype(np.uint8)
    for cls, rows, cols in SCL_BLOCKS:
        scl[rows, cols] = cls
    return scl, t20


def write_band(path: Path, data: np.ndarray, transform: Affine, crs: object) -> None:
    driver = "JP2OpenJPEG" if path.suffix == ".jp2" else "GTiff"
    extra = (
        {"QUALITY": 100, "REVERSIBLE": "YES"}
        if driver == "JP2OpenJPEG"
        else {"tiled": True, "blockxsize": 128, "blockysize": 128, "compress": "deflate"}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver=driver,
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        **extra,
    ) as dst:
        dst.write(data, 1)


def _res(transform: Affine) -> int:
    return round(transform.a)


def make_safe(
    parent: Path,
    level: str = "L2A",
    baseline: str = "05.09",
    scl: bool = True,
    list_files: bool = True,
) -> Path:
    """A SAFE folder of the Norcia crop; returns its path (``…/<product>.SAFE``)."""
    pb = float(baseline)
    offset = 1000 if pb >= 4.0 else 0
    name = f"S2B_MSI{level}_{SENSING}_N{baseline.replace('.', '')}_R022_T{TILE}_{SENSING}"
    safe = parent / f"{name}.SAFE"
    granule = f"GRANULE/{level}_T{TILE}_A003456_{SENSING}"
    bands = norcia_bands()
    files: list[str] = []
    for band, (dn, transform) in sorted(bands.arrays.items()):
        data = np.where(dn > 0, dn.astype(np.uint32) + offset, 0).astype(np.uint16)
        res = _res(transform)
        if level == "L2A":
            rel = f"{granule}/IMG_DATA/R{res}m/T{TILE}_{SENSING}_{band}_{res}m"
        else:
            rel = f"{granule}/IMG_DATA/T{TILE}_{SENSING}_{band}"
        write_band(safe / f"{rel}.jp2", data, transform, bands.crs)
        files.append(rel)
    if level == "L2A" and scl:
        data, transform = scl_array(bands)
        rel = f"{granule}/IMG_DATA/R20m/T{TILE}_{SENSING}_SCL_20m"
        write_band(safe / f"{rel}.jp2", data, transform, bands.crs)
        files.append(rel)
    (safe / f"MTD_MSI{level}.xml").write_text(
        mtd_xml(level, baseline, name, files if list_files else [])
    )
    (safe / granule / "MTD_TL.xml").write_text(tile_xml())
    return safe


def tile_xml() -> str:
    """Granule metadata shaped like ESA's around the mean sun angle (the viewing angles, which
    also hold ZENITH_ANGLE and AZIMUTH_ANGLE, come first here, so a reader must pick by parent)."""
    zenith, azimuth = SUN
    view = "<ZENITH_ANGLE>5.1</ZENITH_ANGLE><AZIMUTH_ANGLE>104.2</AZIMUTH_ANGLE>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-1C_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Tile.xsd">
  <n1:Geometric_Info>
    <Tile_Angles>
      <Mean_Viewing_Incidence_Angle_List>
        <Mean_Viewing_Incidence_Angle bandId="0">{view}</Mean_Viewing_Incidence_Angle>
      </Mean_Viewing_Incidence_Angle_List>
      <Mean_Sun_Angle>
        <ZENITH_ANGLE unit="deg">{zenith}</ZENITH_ANGLE>
        <AZIMUTH_ANGLE unit="deg">{azimuth}</AZIMUTH_ANGLE>
      </Mean_Sun_Angle>
    </Tile_Angles>
  </n1:Geometric_Info>
</n1:Level-1C_Tile_ID>
"""


def mtd_xml(level: str, baseline: str, product: str, files: list[str]) -> str:
    """Product metadata shaped like ESA's (namespaced root, the elements geoseg reads)."""
    l2a = level == "L2A"
    kind = "Level-2A_User_Product" if l2a else "Level-1C_User_Product"
    image_files = "\n".join(f"            <IMAGE_FILE>{f}</IMAGE_FILE>" for f in files)
    quant = (
        '<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit="none">10000'
        "</BOA_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>"
        if l2a
        else '<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>'
    )
    offsets = ""
    if float(baseline) >= 4.0:
        tag = "BOA_ADD_OFFSET" if l2a else "RADIO_ADD_OFFSET"
        items = "".join(f'<{tag} band_id="{i}">-1000</{tag}>' for i in range(13))
        offsets = (
            f"<BOA_ADD_OFFSET_VALUES_LIST>{items}</BOA_ADD_OFFSET_VALUES_LIST>"
            if l2a
            else f"<Radiometric_Offset_List>{items}</Radiometric_Offset_List>"
        )
    ns = f"https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_{level.replace('L', 'Level-')}.xsd"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:{kind} xmlns:n1="{ns}">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>{SENSING_ISO}</PRODUCT_START_TIME>
      <PRODUCT_URI>{product}.SAFE</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-{level[1:]}</PROCESSING_LEVEL>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Datatake datatakeIdentifier="GS2B_{SENSING}_003456_N{baseline}">
        <SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME>
        <DATATAKE_SENSING_START>{SENSING_ISO}</DATATAKE_SENSING_START>
      </Datatake>
      <Product_Organisation>
        <Granule_List>
          <Granule granuleIdentifier="x" imageFormat="JPEG2000">
{image_files}
          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>
        <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      {quant}
      {offsets}
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:{kind}>
"""


def zip_safe(safe: Path, dest: Path) -> Path:
    """The SAFE folder zipped the way ESA ships it (the .SAFE folder at the archive root)."""
    archive = shutil.make_archive(str(dest.with_suffix("")), "zip", safe.parent, safe.name)
    return Path(archive)


#: Earth Search (element84, v1) asset keys; Planetary Computer uses the band names (B02, SCL…).
EARTH_SEARCH_KEYS = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}
COMMON = {**EARTH_SEARCH_KEYS, "B05": "rededge", "B06": "rededge", "B07": "rededge"}


def make_stac_item(
    parent: Path, style: str = "earth-search", baseline: str = "05.09", scl: bool = True
) -> Path:
    """A STAC item JSON beside a ``cogs/`` folder of per-band COGs (relative hrefs)."""
    pb = float(baseline)
    offset = 1000 if pb >= 4.0 else 0
    bands = norcia_bands()
    arrays = dict(bands.arrays)
    if scl:
        arrays["SCL"] = scl_array(bands)
    assets: dict[str, object] = {}
    for band, (dn, transform) in sorted(arrays.items()):
        data = dn if band == "SCL" else np.where(dn > 0, dn.astype(np.uint32) + offset, 0)
        data = data.astype(dn.dtype)
        path = parent / "cogs" / f"{band}.tif"
        write_band(path, data, transform, bands.crs)
        key = EARTH_SEARCH_KEYS[band] if style == "earth-search" else band
        asset: dict[str, object] = {
            "href": f"./cogs/{band}.tif",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
        }
        if band != "SCL":
            eo_name = key if style == "earth-search" else band
            asset["eo:bands"] = [{"name": eo_name, "common_name": COMMON[band]}]
            if style == "earth-search":
                asset["raster:bands"] = [
                    {"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -offset / 1e4}
                ]
        assets[key] = asset
        if style == "earth-search" and band != "SCL":  # the JPEG 2000 twin must lose to the COG
            assets[f"{key}-jp2"] = {
                "href": f"./jp2/{band}.jp2",
                "type": "image/jp2",
                "roles": ["data"],
                "eo:bands": [{"name": key, "common_name": COMMON[band]}],
            }
    assets["visual"] = {
        "href": "./cogs/visual.tif",
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "eo:bands": [{"name": n} for n in ("red", "green", "blue")],
    }
    assets["thumbnail"] = {"href": "./thumb.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
    b02, t10 = bands.arrays["B02"]
    x0, y0 = t10 * (0, 0)
    x1, y1 = t10 * (b02.shape[1], b02.shape[0])
    item_id = f"S2B_{TILE}_20171018_0_L2A" if style == "earth-search" else f"S2B_MSIL2A_{SENSING}"
    props: dict[str, object] = {
        "datetime": "2017-10-18T10:10:21.026000Z",
        "platform": "sentinel-2b",
        "s2:processing_baseline": baseline,
        "proj:epsg": 32633,
    }
    if style == "earth-search":
        props.update({"mgrs:utm_zone": 33, "mgrs:latitude_band": "T", "mgrs:grid_square": "UH"})
        props.update({"view:sun_elevation": 90.0 - SUN[0], "view:sun_azimuth": SUN[1]})
    else:
        props.update({"s2:mgrs_tile": TILE, "s2:product_type": "S2MSI2A"})
        props.update({"s2:mean_solar_zenith": SUN[0], "s2:mean_solar_azimuth": SUN[1]})
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[13.0, 42.7], [13.1, 42.7], [13.1, 42.8], [13.0, 42.8], [13.0, 42.7]]],
        },
        "bbox": [13.0, 42.7, 13.1, 42.8],
        "properties": {**props, "proj:bbox": [x0, y1, x1, y0]},
        "links": [],
        "assets": assets,
    }
    path = parent / "item.json"
    path.write_text(json.dumps(item, indent=1))
    return path
