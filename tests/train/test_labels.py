"""Labels aligned onto the image grid: raster, shifted raster, polygons by id and by name."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.features import shapes
from rasterio.windows import Window
from shapely.geometry import shape

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.models.inputs import read_bands
from geoseg.train.config import DW_CLASSES
from geoseg.train.dataset import LabelledScene
from geoseg.train.labels import SOFT_NODATA, read_label, read_soft
from tests.conftest import BANDS, NORCIA_LABELLED

NAMES = read_bands(BANDS, ["NDVI", "NDWI"])


@pytest.fixture(scope="module")
def norcia() -> LabelledScene:
    crop = NORCIA_LABELLED
    return LabelledScene.open(crop, crop / "label.tif", NAMES, DW_CLASSES)


def _label(path: Path) -> tuple[np.ndarray, rasterio.profiles.Profile]:
    with rasterio.open(path) as ds:
        return ds.read(1), ds.profile


def test_label_raster_on_the_same_grid(norcia: LabelledScene) -> None:
    raw, _ = _label(NORCIA_LABELLED / "label.tif")
    assert norcia.label.shape == norcia.shape == raw.shape
    np.testing.assert_array_equal(norcia.label, raw)


def test_label_on_another_grid_is_aligned_with_nearest(
    tmp_path: Path, norcia: LabelledScene
) -> None:
    raw, profile = _label(NORCIA_LABELLED / "label.tif")
    # the label cropped by 10 px left / 20 px top: same CRS, shifted origin and size
    win = Window(10, 20, raw.shape[1] - 10, raw.shape[0] - 20)
    profile.update(
        width=int(win.width),
        height=int(win.height),
        transform=rasterio.windows.transform(win, profile["transform"]),
    )
    with rasterio.open(tmp_path / "shifted.tif", "w", **profile) as dst:
        dst.write(raw[20:, 10:], 1)
    got = read_label(tmp_path / "shifted.tif", norcia.scene.grid, DW_CLASSES)
    assert got.shape == raw.shape
    np.testing.assert_array_equal(got[20:, 10:], raw[20:, 10:])
    assert (got[:20] == NODATA).all() and (got[:, :10] == NODATA).all()


def test_vector_labels_are_rasterised_on_the_image_grid(
    tmp_path: Path, norcia: LabelledScene
) -> None:
    raw, profile = _label(NORCIA_LABELLED / "label.tif")
    polys = [
        (shape(g), int(v))
        for g, v in shapes(raw, mask=raw != NODATA, transform=profile["transform"])
    ]
    names = [DW_CLASSES[v].name for _, v in polys]
    frame = gpd.GeoDataFrame(
        {"class": [v for _, v in polys], "name": names},
        geometry=[g for g, _ in polys],
        crs=profile["crs"],
    )
    frame.to_file(tmp_path / "labels.gpkg")
    by_id = read_label(tmp_path / "labels.gpkg", norcia.scene.grid, DW_CLASSES)
    np.testing.assert_array_equal(by_id, raw)  # pixel-edged polygons rasterise back exactly
    by_name = read_label(tmp_path / "labels.gpkg", norcia.scene.grid, DW_CLASSES, column="name")
    np.testing.assert_array_equal(by_name, raw)
    with pytest.raises(InputError, match="no column"):
        read_label(tmp_path / "labels.gpkg", norcia.scene.grid, DW_CLASSES, column="lc")


def test_unknown_classes_and_empty_polygons_become_nodata(
    tmp_path: Path, norcia: LabelledScene
) -> None:
    raw, profile = _label(NORCIA_LABELLED / "label.tif")
    profile.update(nodata=None)
    with rasterio.open(tmp_path / "odd.tif", "w", **profile) as dst:
        dst.write(np.where(raw == 1, 42, raw).astype(np.uint8), 1)  # 42: no such class
    got = read_label(tmp_path / "odd.tif", norcia.scene.grid, DW_CLASSES)
    assert (got[raw == 1] == NODATA).all() and (got[raw == 2] == 2).all()
    frame = gpd.GeoDataFrame({"class": ["no-such-class"]}, geometry=[None], crs=profile["crs"])
    frame.to_file(tmp_path / "none.gpkg")
    empty = read_label(tmp_path / "none.gpkg", norcia.scene.grid, DW_CLASSES)
    assert empty.shape == raw.shape and (empty == NODATA).all()


def test_teacher_probabilities_are_resampled_onto_the_image_grid(norcia: LabelledScene) -> None:
    """Dynamic World's 20 m probabilities on the 10 m grid: their argmax agrees with its 10 m
    labels nearly everywhere (the data README: ~96-99 %), and nodata stays nodata."""
    soft = read_soft(NORCIA_LABELLED / "prob.tif", norcia.scene.grid, len(DW_CLASSES))
    assert soft.shape == (9, *norcia.shape) and soft.dtype == np.uint8
    covered = (soft != SOFT_NODATA).any(axis=0)
    both = covered & (norcia.label != NODATA)
    agree = (soft.argmax(axis=0) == norcia.label)[both].mean()
    assert agree > 0.9, agree
    sums = soft[:, covered].astype(int).sum(axis=0)
    assert abs(np.median(sums) - 255) <= 3  # still probabilities after resampling


def test_missing_or_malformed_teacher_probabilities_are_refused(
    tmp_path: Path, norcia: LabelledScene
) -> None:
    with pytest.raises(InputError, match="no teacher probabilities"):
        read_soft(tmp_path / "prob.tif", norcia.scene.grid, 9)
    _, profile = _label(NORCIA_LABELLED / "label.tif")
    profile.update(count=1)
    with rasterio.open(tmp_path / "prob.tif", "w", **profile) as ds:
        ds.write(np.zeros((1, profile["height"], profile["width"]), np.uint8))
    with pytest.raises(InputError, match="1 bands for 9 classes"):
        read_soft(tmp_path / "prob.tif", norcia.scene.grid, 9)
