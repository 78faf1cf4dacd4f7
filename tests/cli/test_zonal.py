"""``geoseg zonal``: the command's own part (options, output line); the statistics themselves and
every bad input are in ``tests/analysis/test_zonal.py``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from tests.cli.conftest import assert_clean_failure, class_raster, invoke


@pytest.fixture
def fields(tmp_path: Path) -> Path:
    x0, y0 = 600_000, 5_600_000 - 40  # the class raster's lower-left corner
    polys = [box(x0, y0, x0 + 40, y0 + 20), box(x0, y0 + 20, x0 + 40, y0 + 40)]
    path = tmp_path / "fields.gpkg"
    gpd.GeoDataFrame({"name": ["south", "north"]}, geometry=polys, crs=32631).to_file(path)
    return path


def test_class_shares_per_field(fields: Path, tmp_path: Path) -> None:
    data = np.zeros((4, 4), np.uint8)
    data[2:] = 1  # a in the north half, b in the south half
    ras = class_raster(tmp_path / "s2_20210501_classes.tif", data)
    out = tmp_path / "stats.csv"
    res = invoke("zonal", str(fields), str(ras), "-o", str(out), "--id-field", "name")
    assert res.exit_code == 0, res.output
    assert "2 rows (2 fields x 1 date(s))" in res.stdout
    table = pd.read_csv(out).set_index("name")
    assert table.loc["north", "majority_class"] == "a"
    assert table.loc["south", "majority_class"] == "b"


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--scale", "0"), "--scale 0(.0)? is not valid"), (("--nodata", "nan"), "--nodata nan")],
)
def test_bad_read_option(args: tuple[str, ...], message: str, fields: Path, tmp_path: Path) -> None:
    """Checked before the fields or rasters are read."""
    res = invoke(
        "zonal", str(fields), str(tmp_path / "x.tif"), "-o", str(tmp_path / "o.csv"), *args
    )
    assert_clean_failure(res, message)
    assert not (tmp_path / "o.csv").exists()
