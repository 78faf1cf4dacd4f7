"""Open GeoTIFF scenes: one multi-band file, or a folder of band files at several resolutions.

Bands are named from band descriptions (``B02``, ``B2``, ``blue``…), from file names holding one
band (``…_B04_10m.tif``), from the standard 13/12-band product order, or from an explicit mapping.
Reflectance scaling follows, in order: explicit options, the band's own scale/offset, Sentinel-2
metadata (``BOA_ADD_OFFSET``/``RADIO_ADD_OFFSET``, processing baseline ≥ 04.00 → -1000 DN), and the
L1C/L2A default DN / 10000.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from geoseg.bands import BANDS, L1C_ORDER, L2A_ORDER, band_in_filename, canonical
from geoseg.errors import BandError, InputError
from geoseg.io.grid import Grid
from geoseg.io.scene import BandSource, Scene

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt")
QUANTIFICATION = 10000.0
#: Radiometric offset (DN) of products with processing baseline 04.00 or later.
PB04_OFFSET = -1000.0
#: A GDAL subdataset name (``NETCDF:"file.nc":var``, ``HDF5:…``) rather than a file path.
_SUBDATASET_RE = re.compile(r"^(netcdf|hdf5|hdf4_sds|hdf4_eos|zarr):", re.IGNORECASE)


def parse_band_mapping(text: str) -> dict[str, tuple[str | None, int]]:
    """Parse ``B02=1,B03=2`` or ``B05=B20m.tif:1`` into ``{band: (file or None, index)}``."""
    mapping: dict[str, tuple[str | None, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, target = item.partition("=")
        band = canonical(name)
        file, _, index = target.rpartition(":")
        if not sep or band is None or not index.isdigit() or int(index) < 1:
            raise BandError(
                f"cannot parse band mapping entry {item!r}",
                "--bands",
                "write NAME=INDEX (1-based) or NAME=FILE:INDEX, e.g. B02=1,B03=2,B04=3,B08=4",
            )
        mapping[band] = (file or None, int(index))
    return mapping


def open_scene(
    path: str | Path,
    bands: Mapping[str, tuple[str | None, int]] | str | None = None,
    nodata: float | None = None,
    offset: float | None = None,
    scale: float | None = None,
) -> Scene:
    """Open a GeoTIFF or a folder of band rasters as a lazy :class:`Scene`.

    ``offset`` is in DN (e.g. -1000 for L2A with baseline ≥ 04.00); ``scale`` multiplies DN+offset
    (default 1/10000 for integer data, 1 for floats).
    """
    root = Path(path)
    if not root.exists():
        if _SUBDATASET_RE.match(str(path)):
            raise InputError(
                "geoseg reads raster files, not GDAL subdataset names",
                path,
                f"convert it to GeoTIFF first (gdal_translate {_quoted(str(path))} scene.tif)",
            )
        raise InputError("scene not found", root, "check the path (a GeoTIFF or a folder of bands)")
    if isinstance(bands, str):
        bands = parse_band_mapping(bands)
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix.lower() in RASTER_SUFFIXES)
        if not files:
            raise InputError(
                "folder holds no raster files",
                root,
                "give a GeoTIFF or a folder of .tif/.jp2 bands",
            )
    else:
        files = [root]
    infos = [_inspect(f) for f in files]
    sources: dict[str, BandSource] = {}
    if bands:
        by_name = {i["path"].name: i for i in infos}
        for name, (file, index) in bands.items():
            info = by_name.get(file) if file else (infos[0] if len(infos) == 1 else None)
            if info is None:
                raise BandError(
                    f"band mapping for {name} names no file of the scene ({file or 'none given'})",
                    root,
                    "use NAME=FILE:INDEX with a file of the folder",
                )
            if index > info["count"]:
                raise BandError(
                    f"band mapping {name}={index} but the file has {info['count']} band(s)",
                    info["path"],
                    "use a 1-based band index that exists",
                )
            sources[name] = _source(name, info, index, nodata, offset, scale)
    else:
        for info in infos:
            for name, index in _name_bands(info, single_file=len(infos) == 1).items():
                sources.setdefault(name, _source(name, info, index, nodata, offset, scale))
        if not sources:
            raise BandError(
                "cannot tell which band is which "
                "(no band descriptions or band names in file names)",
                root,
                "set band descriptions (B02, B03…) or name every band the model reads, in the "
                f"file's order, e.g. {mapping_hint(infos)} (geoseg info MODEL lists them)",
            )
    used = {s.path for s in sources.values()}
    ref = min((i for i in infos if str(i["path"]) in used), key=lambda i: i["grid"].res[0])
    for info in infos:
        if str(info["path"]) in used:
            _check_readable(info["path"])
    tags = dict(ref["tags"])
    return Scene(source=str(root), grid=ref["grid"], bands=_ordered(sources), tags=tags)


def _inspect(path: Path) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():  # said below in one line, not as a Python warning too
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
        with ds:
            if ds.subdatasets and (ds.count == 0 or ds.crs is None):
                raise _several_variables(path, ds.driver, ds.subdatasets)
            if ds.crs is None:
                raise InputError(
                    "raster has no CRS", path, "georeference it (e.g. gdal_translate -a_srs EPSG:…)"
                )
            if ds.transform.is_identity:
                raise InputError(
                    "raster has no geotransform", path, "georeference it before classifying"
                )
            tags = {k.upper(): v for k, v in ds.tags().items()}
            return {
                "path": path,
                "count": ds.count,
                "dtype": ds.dtypes[0],
                "descriptions": list(ds.descriptions),
                "nodata": ds.nodata,
                "scales": list(ds.scales),
                "offsets": list(ds.offsets),
                "grid": Grid(ds.crs, ds.transform, ds.width, ds.height),
                "tags": tags,
                "band_tags": [{k.upper(): v for k, v in ds.tags(i).items()} for i in ds.indexes],
            }
    except RasterioError as exc:
        raise InputError(
            "not a readable raster", path, f"give a GeoTIFF or a folder of band rasters ({exc})"
        ) from exc


def mapping_example(names: Sequence[str], files: Sequence[str] | None = None) -> str:
    """``--bands`` naming every one of ``names``: by index in one multi-band file (``B02=1,…``),
    or ``NAME=FILE:1`` per band file of a folder. A hint naming fewer bands than a model reads
    leads straight into the next error, so hints list them all."""
    if files:
        return "--bands " + ",".join(f"{n}={f}:1" for n, f in zip(names, files, strict=False))
    return "--bands " + ",".join(f"{n}={i}" for i, n in enumerate(names, start=1))


def mapping_hint(infos: Sequence[dict[str, Any]]) -> str:
    """An example mapping for files whose bands have no names: as many bands as they hold, 10 m
    first, then 20 m, then 60 m, in product order (ten: the bands the shipped model reads)."""
    count = infos[0]["count"] if len(infos) == 1 else len(infos)
    likely = sorted(BANDS, key=lambda b: b.resolution_m)[:count]
    names = [n for n in L1C_ORDER if n in {b.name for b in likely}]
    files = None if len(infos) == 1 else [i["path"].name for i in infos]
    return mapping_example(names, files)


def _several_variables(path: Path, driver: str, subdatasets: list[str]) -> InputError:
    """A container (NetCDF, HDF) holds several variables, so GDAL shows no image and no CRS at
    its top: name them and say how to make one a raster geoseg reads."""
    names = [sub.rpartition(":")[2] for sub in subdatasets]
    shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    prefix = driver.upper() if driver.lower() == "netcdf" else subdatasets[0].partition(":")[0]

    def pick(var: str) -> str:
        return f'{prefix}:"{path}":{var}'

    bands = [n for n in names if canonical(n) is not None]
    if len(bands) > 1:  # one variable per band: a folder of band files
        remedy = (
            "write each band variable to a GeoTIFF named by its band in one folder, e.g. "
            f"gdal_translate {_quoted(pick(bands[0]))} bands/{canonical(bands[0])}.tif, "
            "and give the folder"
        )
    else:
        remedy = (
            "convert the variable that holds the bands to GeoTIFF, e.g. "
            f"gdal_translate {_quoted(pick(names[0]))} scene.tif, and give that file"
        )
    return InputError(f"file holds {len(names)} variables ({shown}), not one image", path, remedy)


def _quoted(text: str) -> str:
    """A subdataset name as a shell argument: its double quotes kept inside single ones."""
    return f"'{text}'"


def _check_readable(path: Path) -> None:
    """Read the first and last block so truncated files fail before any output is started."""
    try:
        with rasterio.open(path) as ds:
            for row, col in ((0, 0), (ds.height - 1, ds.width - 1)):
                ds.read(window=Window(col, row, 1, 1))
    except RasterioError as exc:
        raise InputError(
            "raster is truncated or corrupt", path, f"download or export it again ({exc})"
        ) from exc


def _name_bands(info: dict[str, Any], single_file: bool) -> dict[str, int]:
    names: dict[str, int] = {}
    for i, desc in enumerate(info["descriptions"], start=1):
        name = canonical(desc) if desc else None
        if name is None:
            tag = info["band_tags"][i - 1].get("BANDNAME") or info["band_tags"][i - 1].get("BAND")
            name = canonical(tag) if tag else None
        if name and name not in names:
            names[name] = i
    if names:
        return names
    if info["count"] == 1:
        name = band_in_filename(info["path"].stem)
        return {name: 1} if name else {}
    if single_file and info["count"] in (len(L1C_ORDER), len(L2A_ORDER)):
        order = L1C_ORDER if info["count"] == len(L1C_ORDER) else L2A_ORDER
        return {name: i for i, name in enumerate(order, start=1)}
    return {}


def _metadata_offset(info: dict[str, Any], name: str) -> float | None:
    """Radiometric offset in DN from Sentinel-2 metadata tags, if the file carries any."""
    number = name[1:].lstrip("0") if name != "B8A" else "8A"
    tags = {**info["tags"], **info["band_tags"][0]} if info["count"] == 1 else info["tags"]
    for key in (
        f"BOA_ADD_OFFSET_B{number}",
        f"RADIO_ADD_OFFSET_B{number}",
        "BOA_ADD_OFFSET",
        "RADIO_ADD_OFFSET",
    ):
        if key in tags:
            return float(tags[key])
    baseline = tags.get("PROCESSING_BASELINE")
    if baseline and re.match(r"^\d+(\.\d+)?$", baseline.strip()):
        return PB04_OFFSET if float(baseline) >= 4.0 else 0.0
    return None


def _source(
    name: str,
    info: dict[str, Any],
    index: int,
    nodata: float | None,
    offset: float | None,
    scale: float | None,
) -> BandSource:
    is_float = np.issubdtype(np.dtype(info["dtype"]), np.floating)
    band_nodata = nodata if nodata is not None else info["nodata"]
    if band_nodata is None and not is_float:
        band_nodata = 0.0  # Sentinel-2 convention: DN 0 is "no data" in L1C/L2A products
    file_scale, file_offset = info["scales"][index - 1], info["offsets"][index - 1]
    if offset is None and scale is None and (file_scale != 1.0 or file_offset != 0.0):
        return BandSource(name, str(info["path"]), index, file_scale, file_offset, band_nodata)
    dn_offset = offset if offset is not None else (_metadata_offset(info, name) or 0.0)
    gain = scale if scale is not None else (1.0 if is_float else 1.0 / QUANTIFICATION)
    return BandSource(name, str(info["path"]), index, gain, dn_offset * gain, band_nodata)


def _ordered(sources: dict[str, BandSource]) -> dict[str, BandSource]:
    order = {name: i for i, name in enumerate(L1C_ORDER)}
    return dict(sorted(sources.items(), key=lambda kv: order.get(kv[0], 99)))
