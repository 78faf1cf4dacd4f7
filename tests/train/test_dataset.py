"""Scenes found and opened, model input identical to the inference path, chips seeded and padded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.engine.predict import Predictor
from geoseg.errors import InputError
from geoseg.models.bundle import load_bundle
from geoseg.models.inputs import features, read_bands
from geoseg.train import load_config
from geoseg.train.config import DW_CLASSES
from geoseg.train.dataset import (
    ChipDataset,
    LabelledScene,
    ModelInput,
    class_counts,
    find_scenes,
    normalisation,
    open_scenes,
)
from geoseg.train.labels import SOFT_NODATA
from geoseg.train.sampler import ChipPlan
from tests.conftest import BANDS, DATA, NORCIA_LABELLED

NORCIA = NORCIA_LABELLED
NAMES = read_bands(BANDS, ["NDVI", "NDWI"])
PLAIN = ModelInput(BANDS, ["NDVI", "NDWI"], np.zeros(12, np.float32), np.ones(12, np.float32))


@pytest.fixture(scope="module")
def norcia() -> LabelledScene:
    return LabelledScene.open(NORCIA, NORCIA / "label.tif", NAMES, DW_CLASSES)


def test_find_scenes_accepts_crops_and_split_folders() -> None:
    pairs = find_scenes([DATA / "val"])
    assert len(pairs) == 6 and all(lab.name == "label.tif" for _, lab in pairs)
    assert find_scenes([NORCIA]) == [(NORCIA, NORCIA / "label.tif")]
    with pytest.raises(InputError):
        find_scenes([NORCIA / "nope"])
    with pytest.raises(InputError, match="no crop folder"):
        find_scenes([DATA])  # split folders, not crops, hold no label.tif one level down
    with pytest.raises(InputError, match="must be a folder"):
        find_scenes([NORCIA / "label.tif"])


def test_open_scenes_reads_the_bands_the_config_needs(norcia: LabelledScene) -> None:
    cfg = load_config(None, train=[str(NORCIA)], bands=["B04", "B08"], indices=["NDWI"])
    (scene,) = open_scenes(cfg, cfg.train)
    assert scene.names == ["B04", "B08", "B03"]  # NDWI needs green
    np.testing.assert_array_equal(scene.label, norcia.label)
    counts = class_counts([scene, norcia], 9)
    assert counts.sum() == 2 * (norcia.label != NODATA).sum()


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
    inputs = ModelInput(
        bundle.spec.bands,
        bundle.spec.indices,
        np.asarray(norm.mean, np.float32),
        np.asarray(norm.std, np.float32),
    )
    np.testing.assert_array_equal(inputs(refl, valid), theirs)


def test_normalisation_centres_the_channels(norcia: LabelledScene) -> None:
    mean, std = normalisation([norcia], BANDS, ["NDVI", "NDWI"], step=1)
    refl, valid, _ = norcia.read(Window(0, 0, norcia.shape[1], norcia.shape[0]))
    x = features(refl, valid, BANDS, ["NDVI", "NDWI"], mean, std)[:, valid]
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-3)
    np.testing.assert_allclose(x.std(axis=1), 1, atol=1e-3)


def test_chips_are_seeded_padded_and_ignore_nodata(norcia: LabelledScene) -> None:
    data = ChipDataset([norcia], PLAIN, ChipPlan(size=320, length=4))
    x, y = data[0]
    assert x.shape == (12, 320, 320) and y.shape == (320, 320)  # crop is 348 x 299: padded
    # padding and nodata: 0 in, 255 (ignored) out
    assert int(y.max()) == NODATA and (x[:, y == NODATA] == 0).all()
    x2, y2 = data[0]
    assert (x == x2).all() and (y == y2).all()  # same (seed, epoch, index) -> same chip
    data.set_epoch(1)
    assert not (data[0][0] == x).all()


def test_chips_hold_labelled_pixels_where_they_can(norcia: LabelledScene) -> None:
    """A chip in the nodata wedge is redrawn, so nearly every chip is mostly labelled."""
    data = ChipDataset([norcia], PLAIN, ChipPlan(size=32, length=40))
    shares = [float((data[i][1] != NODATA).float().mean()) for i in range(len(data))]
    assert min(shares) >= 0.1 and len(data) == 40


def test_distillation_chips_bring_the_teacher_and_drop_its_unsure_hard_labels() -> None:
    scene = LabelledScene.open(NORCIA, NORCIA / "label.tif", NAMES, DW_CLASSES, "class", "prob.tif")
    assert scene.soft is not None
    plain = ChipDataset([scene], PLAIN, ChipPlan(size=320, length=2))
    kd = ChipDataset([scene], PLAIN, ChipPlan(size=320, length=2), min_confidence=0.6)
    (x0, y0), (x, y, soft) = plain[0], kd[0]
    assert soft.shape == (9, 320, 320) and soft.dtype == torch.uint8
    assert (x == x0).all()  # the same chip and augmentation as without distillation
    covered = (soft != SOFT_NODATA).any(dim=0)
    assert not covered[y0 == NODATA].any()  # padding and nodata: no teacher either
    unsure = covered & (soft.max(dim=0).values < 0.6 * 255)
    assert unsure.any() and (y[unsure] == NODATA).all()
    assert (y[~unsure] == y0[~unsure]).all()  # sure pixels keep their hard label
