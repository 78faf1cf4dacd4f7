"""Stratified sampling of a class raster and area estimates from the labelled points."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner

from geoseg.analysis.sampling import (
    allocate,
    area_estimate,
    draw_sample,
    mapped_areas,
    write_points,
)
from geoseg.cli.app import app
from geoseg.errors import InputError

runner = CliRunner()
NAMES = ["a", "b", "c"]


@pytest.fixture
def classes_tif(tmp_path: Path) -> Path:
    """100 x 100 px at 10 m: class a on rows 0-59 (60 ha), b rows 60-89 (30 ha), c rows 90-99
    (10 ha) except one nodata row-end pixel."""
    data = np.zeros((100, 100), dtype=np.uint8)
    data[60:90] = 1
    data[90:] = 2
    data[99, 99] = 255
    path = tmp_path / "scene_classes.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=100,
        height=100,
        count=1,
        dtype="uint8",
        nodata=255,
        crs="EPSG:32631",
        transform=from_origin(600_000, 5_600_000, 10, 10),
    ) as ds:
        ds.write(data, 1)
        ds.update_tags(GEOSEG_CLASSES=json.dumps({0: "a", 1: "b", 2: "c"}))
    return path


def test_mapped_areas(classes_tif: Path) -> None:
    m = mapped_areas(classes_tif, 3)
    assert m.pixels.tolist() == [6000, 3000, 999]
    assert m.area_ha.tolist() == pytest.approx([60.0, 30.0, 9.99])


def test_allocation_rules() -> None:
    assert allocate([6000, 3000, 1000], 100).tolist() == [60, 30, 10]
    assert allocate([6000, 3000, 1000], 99, "equal").tolist() == [33, 33, 33]
    # the rare class is raised to 20, the other 80 shared 2:1 (largest remainder)
    assert allocate([6000, 3000, 1000], 100, min_per_class=20).tolist() == [53, 27, 20]
    assert allocate([6000, 3000, 1000], 100, fixed={0: 10}).tolist() == [10, 68, 22]
    assert allocate([6000, 0, 3], 10, min_per_class=5).tolist() == [7, 0, 3]  # capped by pixels
    with pytest.raises(InputError, match="unknown allocation"):
        allocate([1], 1, "random")


def test_sample_is_stratified_reproducible_and_on_the_right_class(classes_tif: Path) -> None:
    pts = draw_sample(classes_tif, 30, min_per_class=8, seed=3)
    assert pts.map_class.value_counts().to_dict() == {"a": 14, "b": 8, "c": 8}
    with rasterio.open(classes_tif) as ds:
        values = [v[0] for v in ds.sample(zip(pts.x, pts.y, strict=True))]
    assert values == pts.map_class_id.tolist()
    assert not pts.duplicated(["row", "col"]).any()
    again = draw_sample(classes_tif, 30, min_per_class=8, seed=3)
    assert again[["row", "col"]].equals(pts[["row", "col"]])
    other = draw_sample(classes_tif, 30, min_per_class=8, seed=4)
    assert not other[["row", "col"]].equals(pts[["row", "col"]])


def test_no_sample_from_a_raster_without_class_values_or_unmapped_classes(
    classes_tif: Path, tmp_path: Path
) -> None:
    """An empty sample is an error: nothing could be labelled or estimated from it."""
    band = tmp_path / "T33_B04.tif"  # one band of reflectance DN: integers, none a class value
    with rasterio.open(classes_tif) as src:
        profile = src.profile | {"dtype": "uint16", "nodata": 0}
    with rasterio.open(band, "w", **profile) as dst:
        dst.write(np.full((1, 100, 100), 1200, dtype=np.uint16))
    with pytest.raises(InputError, match=r"no pixel holds a class value 0\.\.8"):
        draw_sample(band, 10)
    with rasterio.open(classes_tif, "r+") as ds:  # a legend with a class nothing is mapped as
        ds.update_tags(GEOSEG_CLASSES=json.dumps({0: "a", 1: "b", 2: "c", 3: "d"}))
    with pytest.raises(InputError, match="classes asked for are not mapped"):
        draw_sample(classes_tif, 0, per_class={"d": 5})


def _label(pts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reference labels making stratum a 8/10 a + 2/10 b, b 1/10 a + 9/10 b, c all c."""
    pts = pts.copy()
    ref = pts.map_class.copy()
    a = pts.index[pts.map_class == "a"]
    b = pts.index[pts.map_class == "b"]
    ref[a[:2]] = "b"
    ref[b[:1]] = "0"  # an id works as well as a name
    pts["reference_class"] = ref
    return pts


def test_area_estimate_end_to_end_hand_checked(classes_tif: Path, tmp_path: Path) -> None:
    pts = _label(draw_sample(classes_tif, 0, per_class={"a": 10, "b": 10, "c": 5}, seed=1))
    for name in ("labelled.gpkg", "labelled.csv"):
        path = write_points(pts, tmp_path / name)
        est = area_estimate(classes_tif, path)
        t = est.table
        total = 99.99
        w = np.array([60, 30, 9.99]) / total
        expected = total * np.array([w[0] * 0.8 + w[1] * 0.1, w[0] * 0.2 + w[1] * 0.9, w[2]])
        np.testing.assert_allclose(t.estimated_area_ha, expected)
        assert t.sample_points.tolist() == [10, 10, 5]
        assert t.mapped_pixels.tolist() == [6000, 3000, 999]


def test_cli_sample_then_area_estimate(classes_tif: Path, tmp_path: Path) -> None:
    points = tmp_path / "points.gpkg"
    res = runner.invoke(
        app,
        ["sample", str(classes_tif), "-o", str(points), "-n", "25", "--per-class", "c=5"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "25 points" in res.stdout
    pts = gpd.read_file(points)
    assert len(pts) == 25 and (pts.reference_class.fillna("") == "").all()
    # unlabelled: one clear line, exit 2
    res = runner.invoke(app, ["area-estimate", str(classes_tif), str(points)])
    assert res.exit_code == 2 and "have no reference label" in res.stderr
    pts["reference_class"] = pts["map_class"]
    pts.to_file(points, layer="sample", driver="GPKG")
    out_json = tmp_path / "areas.json"
    res = runner.invoke(
        app,
        ["area-estimate", str(classes_tif), str(points), "--json", str(out_json)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "Overall accuracy 1.000" in res.stdout
    data = json.loads(out_json.read_text())
    assert [c["estimated_area_ha"] for c in data["classes"]] == pytest.approx([60, 30, 9.99])
    # the same through `geoseg evaluate --area-estimate`
    via_evaluate = tmp_path / "evaluate.json"
    res = runner.invoke(
        app,
        ["evaluate", str(classes_tif), str(points), "--area-estimate", "--json", str(via_evaluate)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert json.loads(via_evaluate.read_text()) == data
    res = runner.invoke(app, ["evaluate", str(classes_tif), "--area-estimate"])
    assert res.exit_code == 2 and "labelled sample as REFERENCE" in res.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.assign(reference_class="x"), "unknown reference class"),
        (lambda f: f.drop(columns="reference_class"), "has no column"),
        (lambda f: f.assign(map_class="c"), "disagrees with the raster"),
        (lambda f: f.assign(x=f.x + 1e6), "outside the raster"),
        (lambda f: f.iloc[:20], "fewer than 2 sample points"),
    ],
)
def test_bad_samples_give_one_line(
    classes_tif: Path, tmp_path: Path, edit: object, message: str
) -> None:
    pts = draw_sample(classes_tif, 0, per_class={"a": 10, "b": 10, "c": 5})
    pts["reference_class"] = pts["map_class"]
    frame = edit(pd.DataFrame(pts.drop(columns="geometry")))  # type: ignore[operator]
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    res = runner.invoke(app, ["area-estimate", str(classes_tif), str(path)])
    assert res.exit_code == 2
    assert res.stderr.startswith("geoseg: error: ") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_bad_sample_options(classes_tif: Path, tmp_path: Path) -> None:
    for args, message in (
        (["--per-class", "water=5"], "unknown class 'water'"),
        (["--per-class", "a5"], "cannot parse per-class"),
        (["--allocation", "neyman"], "unknown allocation"),
        (["-o", str(tmp_path / "p.shp")], "name the output .gpkg or .csv"),
    ):
        cmd = ["sample", str(classes_tif), "-o", str(tmp_path / "p.gpkg"), *args]
        res = runner.invoke(app, cmd)
        assert res.exit_code == 2 and message in res.stderr, res.output
    assert not (tmp_path / "p.gpkg").exists()
    res = runner.invoke(app, ["sample", str(tmp_path / "none.tif"), "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "class raster not found" in res.stderr
