"""Field statistics: hand-checkable values on tiny rasters, a real crop as a scene, the CLI."""

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box
from typer.testing import CliRunner

from geoseg.analysis.zonal import CoverageWarning, raster_kind, write_zonal, zonal_stats
from geoseg.classes import DW_CLASSES
from geoseg.cli.app import app
from geoseg.dates import DateWarning, parse_date, raster_date
from geoseg.errors import InputError, OptionError
from geoseg.io.geotiff import open_scene
from geoseg.io.read_options import ReadOptions
from tests.conftest import NORCIA, NORCIA_LABELLED

runner = CliRunner()
T = from_origin(600_000, 5_600_040, 10, 10)  # 4 x 4 px of 10 m
DW = ["water", "trees", "grass", "flooded_vegetation", "crops"]


def _indices(path: Path, scale: float = 1.0) -> Path:
    ndvi = np.arange(1, 17, dtype=np.float32).reshape(4, 4) * scale
    ndvi[3, 3] = np.nan
    with rasterio.open(
        path, "w", driver="GTiff", width=4, height=4, count=2, dtype="float32",
        crs="EPSG:32631", transform=T, nodata=float("nan"),
    ) as ds:  # fmt: skip
        ds.write(ndvi, 1)
        ds.write(-ndvi / 20, 2)
        ds.set_band_description(1, "NDVI")
        ds.set_band_description(2, "NDWI")
        ds.update_tags(GEOSEG_CLASSES=json.dumps(dict(enumerate(DW))))  # as classify writes them
    return path


def _classes(path: Path) -> Path:
    data = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [4, 4, 255, 255], [4, 4, 255, 255]], np.uint8)
    with rasterio.open(
        path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8",
        crs="EPSG:32631", transform=T, nodata=255,
    ) as ds:  # fmt: skip
        ds.write(data, 1)
        ds.update_tags(GEOSEG_CLASSES=json.dumps(dict(enumerate(DW))))
    return path


def _fields(crs: str = "EPSG:32631") -> gpd.GeoDataFrame:
    x0, y0 = 600_000, 5_600_000
    polys = [
        box(x0, y0, x0 + 40, y0 + 40),  # the whole raster
        box(x0 + 20, y0, x0 + 40, y0 + 20),  # lower-right 2 x 2 px: 11, 12, 15, NaN
        box(x0, y0 + 30, x0 + 15, y0 + 40),  # pixel 1 whole, pixel 2 half
    ]
    frame = gpd.GeoDataFrame({"name": ["all", "corner", "sliver"]}, geometry=polys, crs=32631)
    return frame.to_crs(crs)


def test_index_statistics_by_hand(tmp_path: Path) -> None:
    # fields in WGS84: reprojected onto the raster's CRS before extracting
    t = zonal_stats(
        _fields("EPSG:4326"), [_indices(tmp_path / "x_2021-05-01.tif")], id_field="name"
    )
    t = t.set_index("name")
    assert t.loc["all", "date"] == np.datetime64("2021-05-01")
    # values 1..15 (one NaN): numpy's linear quantiles
    assert t.loc["all", ["NDVI_mean", "NDVI_median", "NDVI_p10", "NDVI_p90"]].tolist() == (
        pytest.approx([8.0, 8.0, 2.4, 13.6], abs=1e-4)
    )
    assert t.loc["all", "NDVI_pixels"] == pytest.approx(15, abs=1e-3)
    assert t.loc["corner", "NDVI_mean"] == pytest.approx((11 + 12 + 15) / 3, abs=1e-4)
    assert t.loc["corner", "NDVI_median"] == pytest.approx(12, abs=1e-4)
    assert t.loc["corner", "NDWI_mean"] == pytest.approx(-(11 + 12 + 15) / 60, abs=1e-4)
    # a pixel covered half counts half: (1 * 1 + 2 * 0.5) / 1.5
    assert t.loc["sliver", "NDVI_mean"] == pytest.approx(4 / 3, abs=1e-3)
    assert t.loc["sliver", "NDVI_pixels"] == 2  # 1.5 pixels' worth, a whole count


def test_class_shares_and_dates_merge(tmp_path: Path) -> None:
    cls = _classes(tmp_path / "s2_20210501_classes.tif")
    may = _indices(tmp_path / "s2_20210501_indices.tif")
    june = _indices(tmp_path / "s2_20210601_indices.tif", scale=0.5)
    with pytest.warns(CoverageWarning, match=r"1 of 3 field\(s\) have no valid pixels .*ids 2"):
        t = zonal_stats(_fields(), [june, cls, may])
    assert t.date.tolist() == [np.datetime64(f"2021-0{m}-01") for m in (5, 5, 5, 6, 6, 6)]
    assert t.field_id.tolist() == [1, 2, 3, 1, 2, 3]
    first = t.iloc[0]
    assert [first.share_water, first.share_trees, first.share_crops] == [33.33] * 3  # 0.01 %
    assert first.share_grass == 0 and first.majority_class in ("water", "trees", "crops")
    # only nodata under the corner: shares unknown rather than 0
    assert t.iloc[1][[f"share_{n}" for n in DW]].isna().all()
    assert pd.isna(t.iloc[1].majority_class)
    assert t.iloc[2].share_water == pytest.approx(100)
    assert t.iloc[3].NDVI_mean == pytest.approx(4.0, abs=1e-4)
    assert np.isnan(t.iloc[3].share_water)  # no class raster for June
    for name in ("z.gpkg", "z.csv"):
        path = write_zonal(t, tmp_path / name)
        back = gpd.read_file(path) if name.endswith("gpkg") else None
        if back is not None:
            assert len(back) == 6 and back.crs.to_epsg() == 32631


def test_fields_partly_outside_say_how_much_was_seen(tmp_path: Path) -> None:
    x0, y0 = 600_000, 5_600_000
    fields = _fields()
    fields.loc[3] = ["straddle", box(x0 + 20, y0 + 20, x0 + 60, y0 + 40)]  # half off the east edge
    fields.loc[4] = ["beside", box(x0 + 50, y0, x0 + 90, y0 + 40)]  # on neither raster
    cls, ind = _classes(tmp_path / "c_2021-05-01.tif"), _indices(tmp_path / "i_2021-05-01.tif")
    with pytest.warns(CoverageWarning) as caught:
        t = zonal_stats(fields, [cls, ind], id_field="name").set_index("name")
    said = [str(w.message) for w in caught]
    assert (
        "2 of 5 field(s) have no valid pixels in " + str(cls) + " (ids corner, beside)" in said[0]
    )
    assert "1 of 5 field(s) have no valid pixels in " + str(ind) + " (ids beside)" in said[1]
    # mapped_pct: share of the field under class pixels (nodata and outside are not mapped)
    assert t.mapped_pct.tolist() == pytest.approx([75, 0, 100, 50, 0])
    assert t.loc["straddle", "share_trees"] == pytest.approx(100)  # of what was seen
    # the corner has one NaN of four pixels; the straddling field's inside half is all valid
    assert t.NDVI_valid_pct.tolist() == pytest.approx([15 / 16 * 100, 75, 100, 50, 0], abs=1e-3)
    assert t.loc["beside", ["NDVI_mean", "share_water"]].isna().all()


def test_fields_outside_every_raster_are_an_error(tmp_path: Path) -> None:
    far = gpd.GeoDataFrame(geometry=_fields().translate(1e5, 0))
    for raster in (_classes(tmp_path / "c.tif"), _indices(tmp_path / "i.tif")):
        with pytest.raises(InputError, match=r"do not overlap the raster \(fields, .*: check"):
            zonal_stats(far, [raster])


def test_scene_indices_match_reading_the_scene(tmp_path: Path) -> None:
    scene = open_scene(NORCIA)
    t0 = scene.grid.transform
    rows, cols = slice(100, 120), slice(50, 80)
    x0, y1 = t0 * (cols.start, rows.start)
    x1, y0 = t0 * (cols.stop, rows.stop)
    fields = gpd.GeoDataFrame(geometry=[box(x0, y0, x1, y1)], crs=scene.grid.crs.to_wkt())
    t = zonal_stats(fields, [NORCIA], indices=["NDVI"])
    from rasterio.windows import Window

    refl, valid = scene.read(Window(0, 0, scene.grid.width, scene.grid.height), ["B08", "B04"])
    nir, red = refl[0][rows, cols], refl[1][rows, cols]
    ndvi = (nir - red) / (nir + red)
    assert valid[rows, cols].all()
    # rounded to 1e-4 (INDEX_DECIMALS)
    assert t.NDVI_mean[0] == pytest.approx(float(ndvi.mean()), abs=5.1e-5)
    assert t.NDVI_median[0] == pytest.approx(float(np.median(ndvi)), abs=5.1e-5)
    assert t.NDVI_p90[0] == pytest.approx(float(np.quantile(ndvi, 0.9)), abs=5.1e-5)
    assert t.date[0] == np.datetime64("2017-10-18")  # from the folder name
    assert "NDWI_mean" not in t.columns
    # how the scene is read: a ReadOptions or the same options as keywords, checked at the door
    scaled = zonal_stats(fields, [NORCIA], indices=["NDVI"], read=ReadOptions.build(offset=-500))
    assert scaled.NDVI_mean[0] != pytest.approx(t.NDVI_mean[0], abs=1e-4)
    again = zonal_stats(fields, [NORCIA], indices=["NDVI"], offset=-500)
    assert again.NDVI_mean[0] == scaled.NDVI_mean[0]
    with pytest.raises(OptionError, match="--scale"):
        zonal_stats(fields, [NORCIA], indices=["NDVI"], scale=0)


def test_dates() -> None:
    assert parse_date("S2A_MSIL2A_20210512T104021_N0300") == date(2021, 5, 12)
    assert parse_date("scene_2021-13-45_x") is None
    assert parse_date("tile 31UFS") is None
    assert raster_date(NORCIA) == date(2017, 10, 18)


def test_kinds(tmp_path: Path) -> None:
    assert raster_kind(_classes(tmp_path / "c.tif")) == "classes"
    assert raster_kind(_indices(tmp_path / "i.tif")) == "indices"
    assert raster_kind(NORCIA) == "scene"
    assert raster_kind(NORCIA / "B10m.tif") == "scene"
    # any single-band integer raster is a class raster, not only geoseg's
    assert raster_kind(NORCIA_LABELLED / "label.tif") == "classes"
    assert raster_kind(_plain(tmp_path / "codes.tif", np.zeros((4, 4), np.uint16))) == "classes"
    # ... unless it names a spectral band: one band of a scene
    assert raster_kind(_plain(tmp_path / "T31_B04_10m.tif", np.ones((4, 4), np.uint16))) == "scene"
    assert raster_kind(_plain(tmp_path / "x.tif", np.ones((4, 4), np.uint16), "B04")) == "scene"


def _plain(path: Path, data: np.ndarray, description: str | None = None) -> Path:
    """A single-band raster with no legend, as another tool writes it."""
    with rasterio.open(
        path, "w", driver="GTiff", width=4, height=4, count=1, dtype=data.dtype.name,
        crs="EPSG:32631", transform=T, nodata=0,
    ) as ds:  # fmt: skip
        ds.write(data, 1)
        if description:
            ds.set_band_description(1, description)
    return path


def _pixel_fields(path: Path, windows: list[tuple[int, int, int, int]]) -> gpd.GeoDataFrame:
    """Fields on whole pixels of a raster: (row, col, height, width) each."""
    with rasterio.open(path) as ds:
        t, crs = ds.transform, ds.crs
    polys = [box(*(t * (c, r + h)), *(t * (c + w, r))) for r, c, h, w in windows]
    return gpd.GeoDataFrame(geometry=polys, crs=crs.to_wkt())


def test_dynamic_world_label_and_its_scene_fill_one_dated_row() -> None:
    """A Dynamic World label.tif is a class raster (names from its palette); B10m.tif of the
    same crop folder is dated by the folder, so both fill the same row, as in QGIS where the
    rasters picker takes files, not scene folders."""
    label, b10 = NORCIA_LABELLED / "label.tif", NORCIA_LABELLED / "B10m.tif"
    windows = [(10, 10, 50, 50), (100, 100, 50, 70), (200, 200, 50, 60)]
    fields = _pixel_fields(label, windows)
    t = zonal_stats(fields, [label, b10], indices=["NDVI"])
    assert len(t) == 3 and t.date.tolist() == [np.datetime64("2017-10-18")] * 3
    with rasterio.open(label) as ds:
        data = ds.read(1)
    for k, (r, c, h, w) in enumerate(windows):
        block = data[r : r + h, c : c + w]
        counts = np.bincount(block[block != 255], minlength=9)
        expected = np.round(100 * counts / counts.sum(), 2)
        assert t.loc[k, [f"share_{c.name}" for c in DW_CLASSES]].tolist() == pytest.approx(expected)
        assert t.loc[k, "majority_class"] == DW_CLASSES[int(np.argmax(counts))].name
        assert t.loc[k, "NDVI_pixels"] == h * w and t.loc[k, "NDVI_valid_pct"] == 100
    assert np.isfinite(t.NDVI_mean).all()


def test_class_raster_without_legend_is_named_by_value(tmp_path: Path) -> None:
    data = np.array([[3, 3, 7, 7]] * 2 + [[0, 0, 0, 0]] * 2, np.uint16)  # 0 = nodata
    ras = _plain(tmp_path / "crop_codes_2021-06-01.tif", data)
    fields = _pixel_fields(ras, [(0, 0, 2, 4), (0, 0, 2, 1)])
    t = zonal_stats(fields, [ras])
    assert [c for c in t.columns if c.startswith("share_")] == ["share_3", "share_7"]
    assert t.share_3.tolist() == [50, 100] and t.share_7.tolist() == [50, 0]
    assert t.majority_class[1] == "3"


def test_undated_rows_are_never_silent(tmp_path: Path) -> None:
    dated, undated = _classes(tmp_path / "c_2021-05-01.tif"), _indices(tmp_path / "i.tif")
    said = r"no date found for 1 of 2 raster\(s\) \(the others are dated 2021-05-01\) \(.*i\.tif\)"
    with pytest.raises(InputError, match=said + ": give every raster's date with --date"):
        zonal_stats(_fields(), [dated, undated])
    t = zonal_stats(_fields(), [dated, undated], dates=["2021-05-01", "2021-05-01"])
    assert len(t) == 3 and {"share_water", "NDVI_mean"} <= set(t.columns)
    with pytest.warns(DateWarning, match=r"no date found for .*i\.tif: the rows have no date"):
        t = zonal_stats(_fields(), [undated])
    assert t.date.isna().all()


def test_values_are_rounded_to_their_precision(tmp_path: Path) -> None:
    """No float noise (2.9e-12 %, 99.99999999999248 %, 2500.0000000031946 pixels) in tables:
    shares and percentages to 0.01 %, index statistics to 1e-4, pixel counts whole."""
    x0, y0 = 600_000, 5_600_000
    third = gpd.GeoDataFrame(geometry=[box(x0 + 0.1, y0 + 0.1, x0 + 33.4, y0 + 39.9)], crs=32631)
    rasters = [_classes(tmp_path / "c_2021-05-01.tif"), _indices(tmp_path / "i_2021.tif", 1 / 3)]
    t = zonal_stats(third, rasters, dates=["2021-05-01"] * 2)
    shares = t.filter(like="share_").iloc[0].to_numpy(dtype=float)
    pct = [*shares, t.mapped_pct[0], t.NDVI_valid_pct[0]]
    assert all(v == round(v, 2) for v in pct), pct
    stats = t[["NDVI_mean", "NDVI_median", "NDVI_p10", "NDVI_p90"]].iloc[0].tolist()
    assert all(v == round(v, 4) for v in stats), stats
    assert t.NDVI_pixels.dtype == np.int64
    back = pd.read_csv(write_zonal(t, tmp_path / "z.csv"))
    assert all(len(str(v).split(".")[-1]) <= 4 for v in back.iloc[0, 2:] if isinstance(v, float))


def test_cli_zonal(tmp_path: Path) -> None:
    fields = tmp_path / "fields.gpkg"
    _fields().to_file(fields, driver="GPKG")
    a, b = _indices(tmp_path / "a.tif"), _indices(tmp_path / "b.tif", 2.0)
    out = tmp_path / "stats.csv"
    res = runner.invoke(
        app,
        ["zonal", str(fields), str(a), str(b), "-o", str(out), "--id-field", "name",
         "--date", "2021-04-01", "--date", "2021-07-01"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "6 rows (3 fields x 2 date(s))" in res.stdout
    t = pd.read_csv(out)
    assert t.date.tolist() == ["2021-04-01"] * 3 + ["2021-07-01"] * 3
    assert t.NDVI_mean.iloc[3] == pytest.approx(16.0, abs=1e-3)


def _cli(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["zonal", *args])


def test_cli_bad_inputs(tmp_path: Path) -> None:
    good = tmp_path / "fields.gpkg"
    _fields().to_file(good, driver="GPKG")
    points = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[Point(600_005, 5_600_005)], crs=32631).to_file(points)
    no_crs = tmp_path / "nocrs.gpkg"
    gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]).to_file(no_crs)
    far = tmp_path / "far.gpkg"
    _fields().translate(1e5, 0).to_file(far)
    ras = _indices(tmp_path / "r.tif")
    out = tmp_path / "o.csv"
    cases = [
        ((str(tmp_path / "none.gpkg"), str(ras)), "fields file not found"),
        ((str(points), str(ras)), "fields must be polygons (found Point)"),
        ((str(ras), str(ras)), "cannot read the fields"),
        ((str(good), str(tmp_path / "none.tif")), "raster not found"),
        ((str(good), str(ras), "--date", "2021-01-01", "--date", "2021-02-01"), "date(s) for"),
        ((str(good), str(ras), "--date", "May"), "cannot read date"),
        ((str(good), str(ras), str(ras)), "two rasters give NDVI_mean"),
        ((str(good), str(ras), "--id-field", "nope"), "no column 'nope'"),
        ((str(good), str(NORCIA), "--indices", "XYZ"), "unknown spectral index"),
        ((str(far), str(NORCIA)), f"do not overlap the scene ({far}, {NORCIA})"),
        ((str(far), str(ras)), f"do not overlap the raster ({far}, {ras}): check the fields' CRS"),
        ((str(no_crs), str(ras)), "fields have no CRS"),
    ]
    for args, message in cases:
        res = _cli(*args, "-o", str(out))
        assert res.exit_code == 2, (args, res.output)
        assert message in res.stderr, (message, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
        assert not out.exists()
    res = _cli(str(good), str(ras), "-o", str(tmp_path / "o.shp"))
    assert res.exit_code == 2 and "name the output .gpkg or .csv" in res.stderr
