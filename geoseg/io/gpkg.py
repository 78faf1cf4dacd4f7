"""GeoPackage output: polygons appended batch by batch, the class-area table, and a QGIS default
style stored in ``layer_styles`` so the layer opens with class colours and names.

Files are GeoPackage 1.2 (GDAL's ``VERSION`` creation option), not GDAL's default 1.4: QGIS LTRs
still in use (3.22, Debian 12's) warn "may only be partially supported" on every 1.4 file, and
nothing written here needs 1.3/1.4 (their changes concern tiled gridded coverage and extensions)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geoseg.errors import OutputError

POLYGON_LAYER = "landcover"
STATS_LAYER = "class_stats"
STYLE_LAYER = "layer_styles"
#: the GeoPackage version files are created as (``PRAGMA user_version`` 10200)
GPKG_VERSION = "1.2"


def _write(frame: pd.DataFrame, path: Path, layer: str, **options: object) -> None:
    """One layer into the GeoPackage, creating the file as :data:`GPKG_VERSION` (a version is
    a property of the file: only its creation can set it)."""
    created = {} if path.exists() else {"dataset_options": {"VERSION": GPKG_VERSION}}
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", **created, **options)


def append_polygons(path: Path, frame: gpd.GeoDataFrame, layer: str = POLYGON_LAYER) -> None:
    _write(
        frame,
        path,
        layer,
        append=path.exists() and layer in {name for name, _ in pyogrio.list_layers(path)},
        geometry_type="Polygon",
        promote_to_multi=False,
    )


def write_table(path: Path, frame: pd.DataFrame, layer: str) -> None:
    """Attribute table (no geometry), registered in gpkg_contents like any GeoPackage table."""
    _write(frame, path, layer)


def write_default_style(path: Path, layer: str, qml: str, name: str) -> None:
    """Store ``qml`` as the layer's default QGIS style (the ``layer_styles`` convention)."""
    style = pd.DataFrame(
        {
            "f_table_catalog": [""],
            "f_table_schema": [""],
            "f_table_name": [layer],
            "f_geometry_column": ["geom"],
            "styleName": [name],
            "styleQML": [qml],
            "styleSLD": [""],
            "useAsDefault": [True],
            "description": ["geoseg class colours"],
            "owner": [""],
            "ui": [""],
            "update_time": [datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")],
        }
    )
    write_table(path, style, STYLE_LAYER)


def check_gpkg_or_csv(path: str | Path, what: str) -> Path:
    """The output of :func:`write_gpkg_or_csv`, checked before any work: a .gpkg or .csv name,
    not a folder, and no existing file where a folder above it must be."""
    out = Path(path)
    if out.suffix.lower() not in (".gpkg", ".csv"):
        raise OutputError(f"unsupported {what} format", out, "name the output .gpkg or .csv")
    if out.is_dir():
        raise OutputError(f"{what} output is a folder", out, "name a .gpkg or .csv file")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise OutputError(
            f"cannot write {what}: {above} is a file, not a folder", out, "choose another path"
        )
    return out


def write_gpkg_or_csv(frame: gpd.GeoDataFrame, path: str | Path, layer: str, what: str) -> Path:
    """A GeoPackage layer (``.gpkg``) or a CSV without the geometry column (``.csv``), written
    beside the target and renamed into place: never a half file at ``path``."""
    out = check_gpkg_or_csv(path, what)
    tmp = out.with_name(f".{out.stem}.part{out.suffix}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        if out.suffix.lower() == ".csv":
            pd.DataFrame(frame.drop(columns="geometry")).to_csv(tmp, index=False)
        else:
            _write(frame, tmp, layer)
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the cause may be the folder itself
            tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {what}", out, str(exc.strerror or exc)) from exc
    return out
