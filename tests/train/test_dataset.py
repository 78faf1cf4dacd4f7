"""Labels aligned onto the image grid (raster, reprojected raster, polygons) and model input
identical to the inference path."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.features import shapes
from rasterio.windows import Window
from shapely.geometry import shape

from geoseg.engine.predict import Predictor
from geoseg.errors import InputError
from geoseg.models.bundle import load_bundle
from geoseg.models.inputs import features, read_bands
from geoseg.train.config import DW_CLASSES
from geoseg.train.dataset import (
    IGNORE,
    ChipDataset,
    LabelledScene,
    find_scenes,
    normalisation,
    read_label,
)
from tests.conftest import BANDS, DATA, NORCIA

NAMES = read_bands(BANDS, ["NDVI", "NDWI"])


@pytest.fixture(scope="module")
def norcia() -> LabelledScene:
    return LabelledScene.open(NORCIA, NORCIA / "label.tif", NAMES, DW_CLASSES)


def _label(path: Path) -> tuple[np.ndarray, rasterio.profiles.Profile]:
    with rasterio.open(path) as ds:
        return ds.read(1), ds.profile


def test_find_scenes_accepts_crops_and_split_folders() -> None:
    pairs = find_scenes([DATA / "val"])
    assert len(pairs) == 6 and all(lab.name == "label.tif" for _, lab in pairs)
    assert find_scenes([NORCIA]) == [(NORCIA, NORCIA / "label.tif")]
    with pytest.raises(InputError):
        find_scenes([NORCIA / "nope"])
    with pytest.raises(InputError, match="no crop folder"):
        find_scenes([DATA])  # split folders, not crops, hold no label.tif one level down


def test_label_raster_on_the_same_grid(norcia: LabelledScene) -> None:
    raw, _ = _label(NORCIA / "label.tif")
    assert norcia.label.shape == norcia.shape == raw.shape
    np.testing.assert_array_equal(norcia.label, raw)


def test_label_on_another_grid_is_aligned_with_nearest(
    tmp_path: Path, norcia: LabelledScene
) -> None:
    raw, profile = _label(NORCIA / "label.tif")
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
    assert (got[:20] == IGNORE).all() and (got[:, :10] == IGNORE).all()


def test_vector_labels_are_rasterised_on_the_image_grid(
    tmp_path: Path, norcia: LabelledScene
) -> None:
    raw, profile = _label(NORCIA / "label.tif")
    polys = [
        (shape(g), int(v))
        for g, v in shapes(raw, mask=raw != IGNORE, transform=profile["transform"])
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


def test_features_match_the_predictor(bundle_dir: Path, norcia: LabelledScene) -> None:
    bundle = load_bundle(bundle_dir)
    refl, valid, _ = norcia.read(Window(0, 0, 120, 100))
    assert not valid.all()  # the crop has a nodata wedge
    norm = bundle.spec.normalization
    ours = features(
        refl,
        valid,
        bundle.spec.bands,
        bundle.spec.indices,
        np.asarray(norm.mean, np.float32),
        np.asarray(norm.std, np.float32),
    )
    theirs = Predictor(bundle, device="cpu").features(refl, valid)
    np.testing.assert_array_equal(ours, theirs)


def test_normalisation_centres_the_channels(norcia: LabelledScene) -> None:
    mean, std = normalisation([norcia], BANDS, ["NDVI", "NDWI"], step=1)
    refl, valid, _ = norcia.read(Window(0, 0, norcia.shape[1], norcia.shape[0]))
    x = features(refl, valid, BANDS, ["NDVI", "NDWI"], mean, std)[:, valid]
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-3)
    np.testing.assert_allclose(x.std(axis=1), 1, atol=1e-3)


def test_chips_are_seeded_padded_and_ignore_nodata(norcia: LabelledScene) -> None:
    mean, std = np.zeros(12, np.float32), np.ones(12, np.float32)
    data = ChipDataset([norcia], BANDS, ["NDVI", "NDWI"], mean, std, chip_size=320, length=4)
    x, y = data[0]
    assert x.shape == (12, 320, 320) and y.shape == (320, 320)  # crop is 348 x 299: padded
    # padding and nodata: 0 in, 255 (ignored) out
    assert int(y.max()) == IGNORE and (x[:, y == IGNORE] == 0).all()
    x2, y2 = data[0]
    assert (x == x2).all() and (y == y2).all()  # same (seed, epoch, index) -> same chip
    data.set_epoch(1)
    assert not (data[0][0] == x).all()


def test_balanced_chips_reach_rare_classes(norcia: LabelledScene) -> None:
    """Water holds 0.1 % of Norcia's labels (bare 0.2 %); class-aware chips find them every
    few draws, chips drawn by labelled pixels almost never."""
    mean, std = np.zeros(12, np.float32), np.ones(12, np.float32)

    def chips_holding(balance: float) -> np.ndarray:
        data = ChipDataset(
            [norcia], BANDS, ["NDVI", "NDWI"], mean, std, chip_size=32, length=300,
            d4=False, gain=0, brightness=0, offset=0, balance=balance, n_classes=9,
        )  # fmt: skip
        seen = np.zeros(9, dtype=int)
        for i in range(len(data)):
            y = data[i][1].numpy()
            seen += np.isin(np.arange(9), y)
        return seen

    plain, balanced = chips_holding(0.0), chips_holding(1.0)
    present = [0, 1, 2, 4, 5, 6, 7]  # Norcia has no flooded vegetation or snow
    assert (balanced[present] >= 300 / len(present) * 0.6).all()  # ~1/7 of chips each, or more
    assert balanced[[3, 8]].sum() == 0  # absent classes are never drawn
    assert balanced[0] >= 10 * max(plain[0], 1) and balanced[7] >= 2 * plain[7]


def test_chip_sizes_are_drawn_per_batch(norcia: LabelledScene) -> None:
    """Every chip of a batch has its batch's size (so they stack); both sizes occur."""
    mean, std = np.zeros(12, np.float32), np.ones(12, np.float32)
    data = ChipDataset(
        [norcia], BANDS, ["NDVI", "NDWI"], mean, std, chip_size=48, length=40,
        sizes=[32, 64], batch_size=4,
    )  # fmt: skip
    sizes = [data[i][0].shape[-1] for i in range(len(data))]
    batches = [set(sizes[b : b + 4]) for b in range(0, 40, 4)]
    assert all(len(b) == 1 for b in batches)
    assert set(sizes) == {32, 64}
    assert [data[i][1].shape for i in range(4)] == [(sizes[0], sizes[0])] * 4
    plain = ChipDataset([norcia], BANDS, ["NDVI", "NDWI"], mean, std, chip_size=48, length=4)
    assert {plain[i][0].shape[-1] for i in range(4)} == {48}
