"""Open Sentinel-2 SAFE products (L1C and L2A), as a ``.SAFE`` folder or the ``.zip`` ESA ships.

The product metadata (``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``) gives the band files, the
quantification value, the radiometric offsets (``RADIO_ADD_OFFSET`` / ``BOA_ADD_OFFSET``, processing
baseline ≥ 04.00), the nodata value and the sensing time; the granule folder gives the tile id.
Bands are taken at their native resolution (L2A: R10m, R20m, R60m) and resampled onto the finest
grid window by window by :class:`~geoseg.io.scene.Scene`; zipped bands are read in place through
GDAL's ``/vsizip/`` (nothing is unpacked). The L2A scene classification (SCL) becomes a cloud mask.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geoseg.bands import BY_NAME, L1C_ORDER, band_in_filename
from geoseg.errors import BandError, InputError
from geoseg.io.grid import finest, probe
from geoseg.io.masks import SCL_CLOUD_CLASSES, MaskSource
from geoseg.io.scene import BandSource, Scene

MTD_NAMES = ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml")
BAND_SUFFIXES = (".jp2", ".tif", ".tiff")
#: Offset (DN) of processing baseline ≥ 04.00 when the metadata does not list one per band.
PB04_OFFSET = -1000.0
_TILE_RE = re.compile(r"_T(\d{2}[A-Z]{3})(?:_|$)")
_RES_RE = re.compile(r"(?:^|[_/])R?(10|20|60)m(?:$|[_/.])")
#: ``band_id`` of the metadata's offset lists is the index in the 13-band order (0 = B01).
BAND_IDS = {str(i): name for i, name in enumerate(L1C_ORDER)}


@dataclass(frozen=True)
class Product:
    """A SAFE product's files: members relative to the archive/folder, and how GDAL reaches them."""

    root: Path
    members: tuple[str, ...]  # POSIX paths relative to ``root`` (folder) or inside the zip
    zipped: bool

    def gdal_path(self, member: str) -> str:
        if self.zipped:
            return f"/vsizip/{self.root.resolve()}/{member}"
        return str(self.root / member)

    def read(self, member: str) -> bytes:
        if self.zipped:
            with zipfile.ZipFile(self.root) as zf:
                return zf.read(member)
        return (self.root / member).read_bytes()


def is_safe(path: Path) -> bool:
    """A ``.SAFE`` folder, a folder holding a product's MTD file, or a ``.zip``."""
    if path.is_dir():
        return path.suffix.upper() == ".SAFE" or any((path / n).is_file() for n in MTD_NAMES)
    return path.suffix.lower() == ".zip"


def open_safe(
    path: str | Path,
    nodata: float | None = None,
    offset: float | None = None,
    scale: float | None = None,
) -> Scene:
    """Open a SAFE folder or zip as a lazy :class:`Scene` of reflectance.

    ``offset`` (DN), ``scale`` (reflectance per DN) and ``nodata`` override the metadata.
    """
    root = Path(path)
    product = _product(root)
    mtd = _find_mtd(product)
    meta = _parse_mtd(product, mtd)
    files = _band_files(product, mtd, meta)
    quant = meta.quantification
    sources: dict[str, BandSource] = {}
    grids = []
    masks = []
    for name, member in files.items():
        gdal_path = product.gdal_path(member)
        grid, _ = probe(gdal_path, f"{root}: {member}")
        if name == "SCL":
            masks.append(MaskSource("SCL", gdal_path, 1, SCL_CLOUD_CLASSES, 0))
            continue
        grids.append(grid)
        gain = scale if scale is not None else 1.0 / quant
        dn_offset = offset if offset is not None else meta.offsets.get(name, meta.default_offset)
        band_nodata = nodata if nodata is not None else meta.nodata
        sources[name] = BandSource(name, gdal_path, 1, gain, dn_offset * gain, band_nodata)
    if not sources:
        raise BandError(
            "product holds no spectral band files",
            root,
            "the product is incomplete; download it again",
        )
    order = {n: i for i, n in enumerate(L1C_ORDER)}
    bands = dict(sorted(sources.items(), key=lambda kv: order[kv[0]]))
    provenance = {
        "S2_PRODUCT": meta.product,
        "S2_PROCESSING_LEVEL": meta.level,
        "S2_PROCESSING_BASELINE": meta.baseline,
        "S2_TILE_ID": meta.tile,
        "S2_SENSING_TIME": meta.sensing_time,
        "S2_SPACECRAFT": meta.spacecraft,
        **_sun_angles(product),
    }
    return Scene(
        source=str(root),
        grid=finest(grids),
        bands=bands,
        kind="safe-zip" if product.zipped else "safe",
        provenance={k: v for k, v in provenance.items() if v},
        masks=masks,
    )


def _product(root: Path) -> Product:
    if not root.exists():
        raise InputError("product not found", root, "check the path (a .SAFE folder or its .zip)")
    if root.is_dir():
        members = tuple(
            p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()
        )
        return Product(root, members, zipped=False)
    try:
        with zipfile.ZipFile(root) as zf:
            bad = zf.testzip() if root.stat().st_size < 16 * 1024 * 1024 else None
            members = tuple(n for n in zf.namelist() if not n.endswith("/"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"not a readable zip archive ({exc})",
            root,
            "the download is incomplete or corrupt; download the product again",
        ) from exc
    if bad is not None:
        raise InputError(
            f"zip archive member is corrupt: {bad}", root, "download the product again"
        )
    return Product(root, members, zipped=True)


def _find_mtd(product: Product) -> str:
    found = [m for m in product.members if PurePosixPath(m).name in MTD_NAMES]
    if not found:
        raise InputError(
            "no MTD_MSIL1C.xml or MTD_MSIL2A.xml in the product",
            product.root,
            "give a Sentinel-2 L1C/L2A product (.SAFE folder or its .zip) as downloaded",
        )
    return min(found, key=lambda m: m.count("/"))  # the product's, not a nested copy


@dataclass(frozen=True)
class _Metadata:
    level: str
    product: str
    baseline: str
    sensing_time: str
    spacecraft: str
    tile: str
    quantification: float
    offsets: dict[str, float]  # band name → DN offset
    default_offset: float
    nodata: float
    image_files: tuple[str, ...]  # as listed (relative to the SAFE root, no extension)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_mtd(product: Product, mtd: str) -> _Metadata:
    where = f"{product.root}: {mtd}"
    try:
        root = ET.fromstring(product.read(mtd))
    except (ET.ParseError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"product metadata is not readable XML ({exc})",
            where,
            "the product is corrupt; download it again",
        ) from exc
    first: dict[str, str] = {}
    offsets: dict[str, float] = {}
    image_files = []
    level = "L2A" if "L2A" in PurePosixPath(mtd).name else "L1C"
    for el in root.iter():
        tag, text = _local(el.tag), (el.text or "").strip()
        first.setdefault(tag, text)
        if tag in ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET"):
            band = BAND_IDS.get(el.get("band_id", ""))
            if band is not None:
                offsets[band] = _number(text, tag, where)
        elif tag == "IMAGE_FILE":
            image_files.append(text)
        elif tag == "Special_Values":
            kind = el.findtext("{*}SPECIAL_VALUE_TEXT") or el.findtext("SPECIAL_VALUE_TEXT")
            value = el.findtext("{*}SPECIAL_VALUE_INDEX") or el.findtext("SPECIAL_VALUE_INDEX")
            if kind == "NODATA" and value:
                first["NODATA"] = value.strip()
    if "PROCESSING_BASELINE" not in first or "Product_Info" not in first:
        raise InputError(
            "product metadata lacks Product_Info/PROCESSING_BASELINE",
            where,
            "the metadata file is not a Sentinel-2 product's; download the product again",
        )
    baseline = first["PROCESSING_BASELINE"]
    quant_tag = "BOA_QUANTIFICATION_VALUE" if level == "L2A" else "QUANTIFICATION_VALUE"
    quant = _number(first.get(quant_tag, "10000"), quant_tag, where)
    if quant <= 0:
        raise InputError(f"{quant_tag} is {quant:g}", where, "download the product again")
    pb = _number(baseline, "PROCESSING_BASELINE", where)
    product_uri = first.get("PRODUCT_URI", "") or product.root.name
    named = (*image_files, product_uri, product.root.name)
    tile = next((m.group(1) for s in named if (m := _TILE_RE.search(s))), "")
    return _Metadata(
        level=level,
        product=product_uri,
        baseline=baseline,
        sensing_time=first.get("PRODUCT_START_TIME") or first.get("DATATAKE_SENSING_START", ""),
        spacecraft=first.get("SPACECRAFT_NAME", ""),
        tile=tile,
        quantification=quant,
        offsets=offsets,
        default_offset=PB04_OFFSET if pb >= 4.0 else 0.0,
        nodata=_number(first.get("NODATA", "0"), "SPECIAL_VALUE_INDEX", where),
        image_files=tuple(image_files),
    )


def _sun_angles(product: Product) -> dict[str, str]:
    """The tile's mean sun zenith and azimuth (the granule's ``MTD_TL.xml``, ``Mean_Sun_Angle``),
    which point the cloud mask's shadow search; without them it estimates the sun from the date
    and place, so a missing or unreadable file is no error."""
    tl = [m for m in product.members if PurePosixPath(m).name == "MTD_TL.xml"]
    if len(tl) != 1:
        return {}
    try:
        root = ET.fromstring(product.read(tl[0]))
    except (ET.ParseError, OSError, zipfile.BadZipFile):
        return {}
    mean = next((el for el in root.iter() if _local(el.tag) == "Mean_Sun_Angle"), None)
    angles = {_local(c.tag): (c.text or "").strip() for c in (mean if mean is not None else [])}
    try:
        zenith, azimuth = float(angles["ZENITH_ANGLE"]), float(angles["AZIMUTH_ANGLE"])
    except (KeyError, ValueError):
        return {}
    return {"S2_SUN_ZENITH": f"{zenith:g}", "S2_SUN_AZIMUTH": f"{azimuth:g}"}


def _number(text: str, tag: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"product metadata {tag} is not a number: {text!r}",
            where,
            "the metadata file is corrupt; download the product again",
        ) from None


def _resolution(member: str) -> int:
    match = _RES_RE.search(member)
    return int(match.group(1)) if match else 0  # L1C: one file per band, native resolution


def _band_name(member: str) -> str | None:
    stem = PurePosixPath(member).stem
    if re.search(r"(?:^|_)SCL(?:_|$)", stem):
        return "SCL"
    name = band_in_filename(stem)
    return name if name in BY_NAME else None


def _band_files(product: Product, mtd: str, meta: _Metadata) -> dict[str, str]:
    """Band (and SCL) → member at its native (finest available) resolution.

    When the metadata lists the image files, every listed spectral band must be present, so that
    an incomplete download fails here, naming what is missing, not later at some window.
    """
    base = str(PurePosixPath(mtd).parent)
    base = "" if base == "." else base + "/"
    present = {m.lower(): m for m in product.members}
    candidates: list[str] = []
    missing: list[str] = []
    if meta.image_files:
        for listed in meta.image_files:
            if _band_name(listed) is None:
                continue
            keys = ((base + listed + suffix).lower() for suffix in BAND_SUFFIXES)
            found = next((present[k] for k in keys if k in present), None)
            if found is None:
                missing.append(listed.rsplit("/", 1)[-1])
            else:
                candidates.append(found)
    else:  # minimal metadata: take what lies in the granule's IMG_DATA
        candidates = [
            m
            for m in product.members
            if "/IMG_DATA/" in m and PurePosixPath(m).suffix.lower() in BAND_SUFFIXES
        ]
    if missing:
        raise BandError(
            f"product is incomplete: {len(missing)} band file(s) listed in its metadata are "
            f"missing ({', '.join(missing[:4])}{'…' if len(missing) > 4 else ''})",
            product.root,
            "download the product again",
        )
    granules = {m.split("/IMG_DATA/")[0] for m in candidates if "/IMG_DATA/" in m}
    if len(granules) > 1:
        raise InputError(
            f"product holds {len(granules)} granules (tiles)",
            product.root,
            "split it into single-tile products (products since 2016 hold one tile each)",
        )
    files: dict[str, str] = {}
    for member in sorted(candidates, key=lambda m: (_resolution(m), m)):
        name = _band_name(member)
        if name is not None:
            files.setdefault(name, member)  # finest resolution first
    return files
