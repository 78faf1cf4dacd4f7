"""Acquisition dates of real rasters: tags first, then names (the raster's, its folder's, its band
files'), the TIFF creation time last."""

from datetime import date
from pathlib import Path

import pytest
import rasterio

from geoseg.dates import parse_date, raster_date
from tests.conftest import NORCIA, write_stack

DAY = date(2017, 10, 18)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Norcia crop as one GeoTIFF whose name holds no date."""
    return write_stack(NORCIA, tmp_path_factory.mktemp("dates") / "scene.tif")


def _tagged(stack: Path, dest: Path, **tags: str) -> Path:
    dest.write_bytes(stack.read_bytes())
    with rasterio.open(dest, "r+") as ds:
        ds.update_tags(**tags)
    return dest


@pytest.mark.parametrize(
    "tags",
    [
        {"date": "2017-10-18"},
        {"DATE_ACQUIRED": "2017-10-18"},
        {"datetime": "2017-10-18T10:10:21Z"},
        {"ACQUISITION_DATE": "20171018"},
        {"TIFFTAG_DATETIME": "2017:10:18 10:10:21"},  # the TIFF tag's own format
    ],
    ids=lambda t: next(iter(t)),
)
def test_date_tags_of_a_geotiff(stack: Path, tmp_path: Path, tags: dict[str, str]) -> None:
    assert raster_date(stack) is None
    assert raster_date(_tagged(stack, tmp_path / "scene.tif", **tags)) == DAY


def test_acquisition_tags_and_names_win_over_the_tiff_creation_time(
    stack: Path, tmp_path: Path
) -> None:
    exported = {"TIFFTAG_DATETIME": "2023:05:01 12:00:00"}  # when the file was written
    named = _tagged(stack, tmp_path / "s2_20171018.tif", **exported)
    assert raster_date(named) == DAY
    tagged = _tagged(stack, tmp_path / "scene.tif", DATE_ACQUIRED="2017-10-18", **exported)
    assert raster_date(tagged) == DAY
    assert raster_date(_tagged(stack, tmp_path / "x.tif", **exported)) == date(2023, 5, 1)


def test_band_file_names_date_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "IMG_DATA"
    folder.mkdir()
    for name in ("B10m.tif", "B20m.tif"):
        (folder / f"T33TUH_20171018T101021_{name}").symlink_to(NORCIA / name)
    assert raster_date(folder) == DAY
    assert raster_date("IMG_DATA", {}, [folder / "T33TUH_20171018T101021_B10m.tif"]) == DAY


def test_parse_date_formats() -> None:
    assert parse_date("T33UUU_20170216T102101_B02.jp2") == date(2017, 2, 16)
    assert parse_date("2017:02:16 10:21:01") == date(2017, 2, 16)
    assert parse_date("2017/02/16") == date(2017, 2, 16)
    assert parse_date("2017-02:16") is None  # mixed separators are no date
    assert parse_date("scene_2021-13-45_x") is None
