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


def test_fields_off_the_raster_are_said(fields: Path, tmp_path: Path) -> None:
    """A field partly off the raster keeps its row with the share it covers; one with no pixel
    at all is named on a warning line; fields all off the raster are an error."""
    ras = class_raster(tmp_path / "s2_20210501_classes.tif", np.zeros((4, 4), np.uint8))
    x0, y0 = 600_000, 5_600_000 - 40
    polys = [box(x0 - 20, y0, x0 + 20, y0 + 40), box(x0 + 100, y0, x0 + 140, y0 + 40)]
    some = tmp_path / "some.gpkg"
    gpd.GeoDataFrame({"name": ["edge", "east"]}, geometry=polys, crs=32631).to_file(some)
    out = tmp_path / "stats.csv"
    res = invoke("zonal", str(some), str(ras), "-o", str(out), "--id-field", "name")
    assert res.exit_code == 0, res.output
    assert res.stderr.strip() == (
        f"geoseg: warning: 1 of 2 field(s) have no valid pixels in {ras} (ids east): their "
        "statistics are empty; check their extent, or the raster's nodata"
    )
    table = pd.read_csv(out).set_index("name")
    assert table.mapped_pct.tolist() == pytest.approx([50, 0])
    assert table.loc["edge", "share_a"] == pytest.approx(100)
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(geometry=polys[1:], crs=32631).to_file(far)
    res = invoke("zonal", str(far), str(ras), "-o", str(tmp_path / "far.csv"))
    assert_clean_failure(res, rf"do not overlap the raster \({far}, {ras}\): check the fields' CRS")
    assert not (tmp_path / "far.csv").exists()


def test_output_under_a_file_is_refused_before_any_work(fields: Path, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    res = invoke("zonal", str(fields), str(tmp_path / "none.tif"), "-o", f"{tmp_path}/a_file/o.csv")
    assert_clean_failure(res, "a_file is a file, not a folder")
