"""Where chips are cut: seeded, inside the scenes, by labelled pixels or around rare classes,
one size per batch."""

from __future__ import annotations

import numpy as np
import pytest

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.models.inputs import read_bands
from geoseg.train.config import DW_CLASSES
from geoseg.train.dataset import ChipDataset, LabelledScene, ModelInput
from geoseg.train.sampler import ChipPlan, ChipSampler, class_anchors
from geoseg.train.transforms import NO_AUGMENT
from tests.conftest import BANDS, NORCIA_LABELLED

PLAIN = ModelInput(BANDS, ["NDVI", "NDWI"], np.zeros(12, np.float32), np.ones(12, np.float32))


@pytest.fixture(scope="module")
def norcia() -> LabelledScene:
    names = read_bands(BANDS, ["NDVI", "NDWI"])
    return LabelledScene.open(NORCIA_LABELLED, NORCIA_LABELLED / "label.tif", names, DW_CLASSES)


def _labels() -> list[np.ndarray]:
    a = np.full((40, 50), NODATA, np.uint8)
    a[:10, :10] = 0
    b = np.ones((30, 20), np.uint8)
    b[0, 0] = 2
    return [a, b]


def test_windows_are_seeded_and_inside_their_scene() -> None:
    labels = _labels()
    sampler = ChipSampler(labels, ChipPlan(size=32, seed=3))
    draws = []
    for i in range(50):
        k, win = sampler.window(sampler.rng(0, i), 32)
        h, w = labels[k].shape
        assert win.row_off >= 0 and win.row_off + win.height <= h
        assert win.col_off >= 0 and win.col_off + win.width <= w
        assert win.height == min(32, h) and win.width == min(32, w)
        draws.append((k, win))
    again = [sampler.window(sampler.rng(0, i), 32) for i in range(50)]
    assert draws == again
    # scenes by their labelled pixels: 100 in the first, 600 in the second
    np.testing.assert_allclose(sampler.p, [100 / 700, 600 / 700])
    assert {k for k, _ in draws} == {0, 1}


def test_class_anchors_every_fourth_pixel_of_each_present_class() -> None:
    anchors = class_anchors(_labels(), 4)
    assert len(anchors) == 3  # class 3 absent
    where, flat = anchors[2]
    assert where.tolist() == [1] and flat.tolist() == [0]
    where, flat = anchors[0]
    assert (where == 0).all() and len(flat) == 25 and (flat % 50 < 10).all()


def test_no_labelled_pixels_is_refused() -> None:
    with pytest.raises(InputError, match="no labelled pixels"):
        ChipSampler([np.full((8, 8), NODATA, np.uint8)], ChipPlan())


def test_balanced_chips_reach_rare_classes(norcia: LabelledScene) -> None:
    """Water holds 0.1 % of Norcia's labels (bare 0.2 %); class-aware chips find them every
    few draws, chips drawn by labelled pixels almost never."""

    def chips_holding(balance: float) -> np.ndarray:
        plan = ChipPlan(size=32, length=300, balance=balance, n_classes=9)
        data = ChipDataset([norcia], PLAIN, plan, NO_AUGMENT)
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
    data = ChipDataset([norcia], PLAIN, ChipPlan(size=48, length=40, sizes=(32, 64), batch_size=4))
    sizes = [data[i][0].shape[-1] for i in range(len(data))]
    batches = [set(sizes[b : b + 4]) for b in range(0, 40, 4)]
    assert all(len(b) == 1 for b in batches)
    assert set(sizes) == {32, 64}
    assert [data[i][1].shape for i in range(4)] == [(sizes[0], sizes[0])] * 4
    plain = ChipDataset([norcia], PLAIN, ChipPlan(size=48, length=4))
    assert {plain[i][0].shape[-1] for i in range(4)} == {48}


def test_the_plan_follows_the_config() -> None:
    from geoseg.train import load_config

    cfg = load_config(
        None, train=["x"], chip_size=64, chips_per_epoch=12, seed=5, balanced_chips=0.25,
        chip_sizes=[32, 96], batch_size=3,
    )  # fmt: skip
    plan = ChipPlan.from_config(cfg)
    assert plan == ChipPlan(64, 12, 5, 0.25, 9, (32, 96), 3)
