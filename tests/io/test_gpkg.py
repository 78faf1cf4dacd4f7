"""GeoPackages as QGIS LTRs read them without a warning: version 1.2, read from the file itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import box

from geoseg.io import gpkg

#: ``PRAGMA application_id`` of a GeoPackage ("GPKG") and ``user_version`` of version 1.2
GPKG_ID, V1_2 = 0x47504B47, 10200


def version(path: Path) -> tuple[int, int]:
    """(application_id, user_version) from the SQLite header, as QGIS and GDAL check them."""
    with sqlite3.connect(path) as db:
        return (
            db.execute("PRAGMA application_id").fetchone()[0],
            db.execute("PRAGMA user_version").fetchone()[0],
        )


def _polygons(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"class_id": list(range(n))},
        geometry=[box(i, 0, i + 1, 1) for i in range(n)],
        crs=32631,
    )


def test_every_geopackage_written_is_version_1_2(tmp_path: Path) -> None:
    path = tmp_path / "scene.gpkg"
    gpkg.append_polygons(path, _polygons(2))
    gpkg.append_polygons(path, _polygons(3))  # appending keeps what creation set
    gpkg.write_table(path, pd.DataFrame({"class_name": ["water"], "pixels": [4]}), "class_stats")
    gpkg.write_default_style(path, gpkg.POLYGON_LAYER, "<qgis/>", "geoseg")
    assert version(path) == (GPKG_ID, V1_2)
    assert {n for n, _ in pyogrio.list_layers(path)} == {"landcover", "class_stats", "layer_styles"}
    assert len(gpd.read_file(path, layer="landcover")) == 5
    table = gpkg.write_gpkg_or_csv(_polygons(1), tmp_path / "zonal.gpkg", "zonal_stats", "zonal")
    assert version(table) == (GPKG_ID, V1_2)
