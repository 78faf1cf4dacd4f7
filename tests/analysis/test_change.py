"""``geoseg.change`` on real Dynamic World labels of two dates, on geoseg output folders (with
confidences) and on every bad input it refuses."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import Window

import geoseg
from geoseg.analysis.change import ChangeResult, change
from geoseg.analysis.change_inputs import DW_LEGEND
from geoseg.errors import InputError, OptionError
from geoseg.io.grid import Grid
from tests.cli.conftest import class_raster
from tests.conftest import DATA, make_bundle, write_stack

BEFORE = DATA / "val" / "oscd_norcia_20150711"
AFTER = DATA / "val" / "oscd_norcia_20171018"
N = len(DW_LEGEND)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def _grid(path: Path) -> Grid:
    with rasterio.open(path) as ds:
        return Grid(ds.crs, ds.transform, ds.width, ds.height)


@pytest.fixture(scope="module")
def norcia(tmp_path_factory: pytest.TempPathFactory) -> ChangeResult:
    """The two Norcia dates, given as the crop folders (their label.tif is found)."""
    return change(BEFORE, AFTER, tmp_path_factory.mktemp("change") / "out")


def test_matrix_is_exact_on_real_labels(norcia: ChangeResult) -> None:
    """Rows sum to BEFORE's class areas over pixels valid in both, the diagonal is the unchanged
    area; CSV and JSON hold the same matrix."""
    b, a = _read(BEFORE / "label.tif"), _read(AFTER / "label.tif")
    both = (b != 255) & (a != 255)
    assert both.sum() > 50_000
    px_ha = 100 / 1e4
    m = norcia.matrix
    assert list(m.index) == [n for n, _ in DW_LEGEND] == list(m.columns)
    for i, name in enumerate(m.index):
        assert m.loc[name].sum() == pytest.approx((b[both] == i).sum() * px_ha)
        assert m[name].sum() == pytest.approx((a[both] == i).sum() * px_ha)
    unchanged = (both & (a == b)).sum() * px_ha
    assert np.trace(m.to_numpy()) == pytest.approx(unchanged) == norcia.unchanged_ha
    assert norcia.changed_ha == pytest.approx((both & (a != b)).sum() * px_ha)
    assert norcia.changed_ha > 1  # the two dates differ
    csv = pd.read_csv(norcia.matrix_csv, index_col=0)
    np.testing.assert_allclose(csv.to_numpy(), m.to_numpy())
    doc = json.loads(norcia.matrix_json.read_text())
    np.testing.assert_allclose(doc["matrix_ha"], m.to_numpy())
    assert doc["unit"] == "ha" and doc["changed_ha"] == pytest.approx(norcia.changed_ha)
    # hectares to the square metre, no float noise (449.71999999999997) in CSV, JSON or sums
    for text in (norcia.matrix_json.read_text(), norcia.matrix_csv.read_text()):
        assert not re.search(r"\d\.\d{5,}", text), re.search(r"\d\.\d{5,}", text)
    assert norcia.changed_ha == round(norcia.changed_ha, 4) == doc["changed_ha"]
    polygons = gpd.read_file(norcia.polygons)
    assert (polygons.area_ha == polygons.area_ha.round(4)).all()


def test_raster_is_a_named_coloured_cog_on_before_grid(norcia: ChangeResult) -> None:
    assert _grid(norcia.classes).same_as(_grid(BEFORE / "label.tif"))
    b, a = _read(BEFORE / "label.tif"), _read(AFTER / "label.tif")
    both = (b != 255) & (a != 255)
    with rasterio.open(norcia.classes) as ds:
        codes = ds.read(1)
        assert ds.dtypes[0] == "uint8" and ds.nodata == 255
        assert ds.profile["tiled"] and ds.profile["blockxsize"] == 512
        cmap = ds.colormap(1)
        tags = ds.tags()
    expected = np.where(both, b.astype(int) * N + a, 255)
    np.testing.assert_array_equal(codes, expected)
    trees_to_built = 1 * N + 6
    assert cmap[trees_to_built][:3] == (0xC4, 0x28, 0x1B)  # the colour of "built"
    assert cmap[255][3] == 0
    names = json.loads(tags["GEOSEG_CLASSES"])
    assert names[str(trees_to_built)] == "trees → built"
    aux = ET.parse(norcia.classes.with_name(norcia.classes.name + ".aux.xml"))
    cats = [c.text for c in aux.iter("Category")]
    assert cats[trees_to_built] == "trees → built" and cats[0] == "water (unchanged)"
    assert "trees → built" in norcia.style.read_text()


def test_polygons_add_up_to_the_changed_area(norcia: ChangeResult) -> None:
    polys = gpd.read_file(norcia.polygons, layer="change")
    assert norcia.polygon_count == len(polys) > 10
    assert polys.area_ha.sum() == pytest.approx(norcia.changed_ha, rel=1e-9)
    assert (polys.from_class != polys.to_class).all()
    assert "confidence_before" not in polys.columns  # label.tif has no confidence raster
    by_pair = polys.groupby(["from_class", "to_class"]).area_ha.sum()
    for (f, t), ha in by_pair.items():
        assert norcia.matrix.loc[f, t] == pytest.approx(ha)
    assert polys.crs == _grid(BEFORE / "label.tif").crs


def test_min_area_drops_small_polygons_only(norcia: ChangeResult, tmp_path: Path) -> None:
    res = change(BEFORE / "label.tif", AFTER / "label.tif", tmp_path / "out", min_area_ha=0.5)
    polys = gpd.read_file(res.polygons, layer="change")
    assert 0 < len(polys) < norcia.polygon_count
    assert polys.area_ha.min() >= 0.5
    pd.testing.assert_frame_equal(res.matrix, norcia.matrix)  # the matrix stays exact


def test_after_on_another_grid_is_aligned(tmp_path: Path) -> None:
    """An AFTER crop offset by whole pixels lands on BEFORE's grid; outside it is nodata."""
    src = AFTER / "label.tif"
    crop = tmp_path / "after_crop.tif"
    with rasterio.open(src) as ds:
        win = Window(20, 10, 200, 150)
        profile = ds.profile | {
            "width": 200,
            "height": 150,
            "transform": ds.window_transform(win),
        }
        data = ds.read(1, window=win)
        cmap = ds.colormap(1)
    with rasterio.open(crop, "w", **profile) as dst:
        dst.write(data, 1)
        dst.write_colormap(1, cmap)
    res = change(BEFORE, crop, tmp_path / "out")
    assert _grid(res.classes).same_as(_grid(BEFORE / "label.tif"))
    codes = _read(res.classes)
    assert (codes[:10] == 255).all() and (codes[:, :20] == 255).all()
    b = _read(BEFORE / "label.tif")[10:160, 20:220]
    both = (b != 255) & (data != 255)
    np.testing.assert_array_equal(codes[10:160, 20:220], np.where(both, b * N + data, 255))


def test_legends_in_another_order_are_matched_by_name(tmp_path: Path) -> None:
    data = np.zeros((4, 4), np.uint8)
    data[2:] = 1
    before = class_raster(tmp_path / "b_classes.tif", data, ("a", "b"))
    after = class_raster(tmp_path / "a_classes.tif", 1 - data, ("b", "a"))  # same map
    res = geoseg.change(before, after, tmp_path / "out")
    assert res.changed_ha == 0 and res.unchanged_ha == pytest.approx(0.16)
    assert res.polygon_count == 0
    assert len(gpd.read_file(res.polygons, layer="change")) == 0


@pytest.fixture(scope="module")
def runs(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two dates of a small Norcia crop classified by random models (a second one for AFTER, as
    one random model maps both dates alike): geoseg output folders."""
    root = tmp_path_factory.mktemp("runs")
    other = root / "other_bundle"
    make_bundle(other, seed=1)
    outs = []
    for crop, model in ((BEFORE, bundle_dir), (AFTER, other)):
        scene = write_stack(crop, root / f"{crop.name}.tif", window=Window(100, 80, 96, 80))
        out = root / crop.name
        geoseg.classify(scene, out, model=model, options=geoseg.Options(stac=False))
        outs.append(out)
    return outs[0], outs[1]


def test_output_folders_give_both_confidences(runs: tuple[Path, Path], tmp_path: Path) -> None:
    before, after = runs
    res = change(before, after, tmp_path / "out")
    classes = sorted(before.glob("*_classes.tif"))[0]
    assert _grid(res.classes).same_as(_grid(classes))
    polys = gpd.read_file(res.polygons, layer="change")
    assert len(polys) > 0
    assert polys.area_ha.sum() == pytest.approx(res.changed_ha)
    for col in ("confidence_before", "confidence_after"):
        assert polys[col].between(0, 100).all()
    b_conf = _read(sorted(before.glob("*_confidence.tif"))[0]).astype(float)
    codes = _read(res.classes)
    changed = (codes != 255) & (codes // N != codes % N)
    weighted = (polys.confidence_before * polys.pixels).sum() / polys.pixels.sum()
    assert weighted == pytest.approx(b_conf[changed].mean())


# ---- bad input: one error, nothing written ------------------------------------------------------


def _bad(tmp_path: Path, before: Path, after: Path, message: str, **kw: float) -> None:
    out = tmp_path / "out"
    with pytest.raises((InputError, OptionError), match=message) as info:
        change(before, after, out, **kw)
    assert "\n" not in str(info.value)
    assert not out.exists() or list(out.iterdir()) == []


def test_missing_file(tmp_path: Path) -> None:
    _bad(tmp_path, tmp_path / "nope.tif", AFTER, r"before map not found \(.*nope.tif\): give")


def test_not_a_raster(tmp_path: Path) -> None:
    text = tmp_path / "x_classes.tif"
    text.write_text("hello")
    _bad(tmp_path, BEFORE, text, "after map is not a readable raster")


def test_not_a_class_raster(tmp_path: Path) -> None:
    floats = tmp_path / "ndvi.tif"
    with rasterio.open(
        floats,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:32631",
        transform=rasterio.transform.from_origin(600_000, 5_600_000, 10, 10),
    ) as ds:
        ds.write(np.zeros((1, 4, 4), np.float32))
    _bad(tmp_path, floats, AFTER, r"before map is not a class raster \(float32 values\)")
    no_legend = tmp_path / "plain.tif"
    with (
        rasterio.open(floats) as src,
        rasterio.open(no_legend, "w", **(src.profile | {"dtype": "uint8"})) as ds,
    ):
        ds.write(np.zeros((1, 4, 4), np.uint8))
    _bad(tmp_path, no_legend, AFTER, "before map has no class legend")


def test_folder_without_class_raster(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _bad(tmp_path, BEFORE, tmp_path / "empty", "after folder holds no \\*_classes.tif")


def test_no_overlap(tmp_path: Path) -> None:
    """Beirut and Norcia: two places (and two UTM zones)."""
    _bad(tmp_path, BEFORE, DATA / "train" / "oscd_beirut_20150820", "the maps do not overlap")


def test_different_class_sets(tmp_path: Path) -> None:
    data = np.zeros((4, 4), np.uint8)
    a = class_raster(tmp_path / "a_classes.tif", data, ("a", "b"))
    c = class_raster(tmp_path / "c_classes.tif", data, ("a", "c"))
    _bad(tmp_path, a, c, re.escape("different classes (only before: b; only after: c)"))


def test_value_outside_the_legend(tmp_path: Path) -> None:
    data = np.full((4, 4), 7, np.uint8)
    a = class_raster(tmp_path / "a_classes.tif", np.zeros((4, 4), np.uint8))
    b = class_raster(tmp_path / "b_classes.tif", data)
    _bad(tmp_path, a, b, "map holds value 7, not one of its 2 classes")


def test_negative_min_area(tmp_path: Path) -> None:
    _bad(tmp_path, BEFORE, AFTER, "--min-area -1", min_area_ha=-1)
