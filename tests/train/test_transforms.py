"""D4 geometry moves image and label together; jitter, illumination, haze and the L1C → L2A shift
touch only valid reflectance, within their ranges; all as configured."""

from __future__ import annotations

import numpy as np
import pytest

from geoseg.train.config import AugmentConfig, Haze, Illumination, L2AShift
from geoseg.train.transforms import (
    L2A,
    NO_AUGMENT,
    d4,
    geometric,
    haze,
    illumination,
    jitter,
    l2a_shift,
    radiometric,
)


def test_quarter_turn_and_flip_by_hand() -> None:
    label = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    image = np.stack([label, label * 10]).astype(np.float32)
    img, lab = d4(image, label, 1)  # one quarter turn counter-clockwise
    np.testing.assert_array_equal(lab, [[2, 4], [1, 3]])
    np.testing.assert_array_equal(img[1], [[20, 40], [10, 30]])
    _, lab = d4(image, label, 4)  # left-right flip
    np.testing.assert_array_equal(lab, [[2, 1], [4, 3]])


def test_all_eight_elements_are_distinct_and_keep_image_and_label_aligned() -> None:
    rng = np.random.default_rng(0)
    label = rng.integers(0, 9, (5, 7)).astype(np.uint8)
    image = np.stack([label * 1.0, label * 2.0 + 1]).astype(np.float32)
    seen = set()
    for k in range(8):
        img, lab = d4(image, label, k)
        np.testing.assert_array_equal(img[0], lab)  # the same transform on both
        np.testing.assert_array_equal(img[1], lab * 2.0 + 1)
        seen.add(lab.tobytes() + bytes(lab.shape))
    assert len(seen) == 8
    with pytest.raises(ValueError):
        d4(image, label, 8)


def test_jitter_is_seeded_and_keeps_nodata_zero() -> None:
    refl = np.full((3, 4, 4), 0.2, dtype=np.float32)
    valid = np.ones((4, 4), dtype=bool)
    valid[0, 0] = False
    refl[:, 0, 0] = 0
    a = jitter(refl, valid, np.random.default_rng(1))
    b = jitter(refl, valid, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and (a[:, 0, 0] == 0).all()
    assert not np.allclose(a[:, 1:, 1:], 0.2)  # changed…
    assert np.abs(a[:, 1:, 1:] - 0.2).max() < 0.1  # …but only a little
    per_band = a[:, 1:, 1:].reshape(3, -1)
    assert np.ptp(per_band, axis=1).max() < 1e-6  # one gain/offset per band, not per pixel
    np.testing.assert_array_equal(jitter(refl, valid, np.random.default_rng(2), 0, 0, 0), refl)


def test_configured_augmentations_draw_only_when_on() -> None:
    """Off, they leave chips and the chip's generator untouched (later draws stay the same)."""
    refl = np.full((3, 4, 4), 0.2, dtype=np.float32)
    valid = np.ones((4, 4), dtype=bool)
    label = np.arange(16, dtype=np.uint8).reshape(4, 4)
    rng = np.random.default_rng(0)
    assert radiometric(refl, valid, rng, NO_AUGMENT) is refl
    x, lab, soft = geometric(refl, label, rng, NO_AUGMENT)
    assert x is refl and lab is label and soft is None
    assert rng.random() == np.random.default_rng(0).random()
    on = AugmentConfig()
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(radiometric(refl, valid, a, on), jitter(refl, valid, b))
    _, lab, _ = geometric(refl, label, a, on)
    np.testing.assert_array_equal(lab, d4(refl, label, int(b.integers(0, 8)))[1])


def test_soft_labels_turn_with_the_chip_and_leave_the_draws_alone() -> None:
    """Soft labels get the same D4 element as image and label; the draw is the same with or
    without them, so switching distillation on does not change which chips are seen."""
    x = np.arange(2 * 16, dtype=np.float32).reshape(2, 4, 4)
    label = np.arange(16, dtype=np.uint8).reshape(4, 4)
    soft = np.stack([label, 255 - label]).astype(np.uint8)
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    xa, la, sa = geometric(x, label, a, AugmentConfig(), soft)
    xb, _, sb = geometric(x, label, b, AugmentConfig())
    assert sb is None and sa is not None
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(sa[0], la)  # band 0 was the label: it turned the same way
    np.testing.assert_array_equal(sa[1], 255 - la)
    assert a.random() == b.random()


BANDS10 = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


def _chip() -> tuple[np.ndarray, np.ndarray]:
    refl = np.linspace(0.05, 0.4, 10 * 36, dtype=np.float32).reshape(10, 6, 6)
    valid = np.ones((6, 6), dtype=bool)
    valid[0, 0] = False
    refl[:, 0, 0] = 0
    return refl, valid


def _draws_nothing(rng: np.random.Generator) -> bool:
    return rng.random() == np.random.default_rng(3).random()


def test_illumination_scales_every_band_by_one_factor_in_its_range() -> None:
    refl, valid = _chip()
    out = illumination(refl, valid, np.random.default_rng(1), Illumination(p=1, range=(0.6, 0.7)))
    assert out.shape == refl.shape and out.dtype == np.float32 and out[:, 0, 0].max() == 0
    ratio = out[:, valid] / refl[:, valid]
    assert ratio.min() >= 0.6 and ratio.max() <= 0.7 and np.ptp(ratio) < 1e-6
    rng = np.random.default_rng(3)
    assert illumination(refl, valid, rng, Illumination(p=0)) is refl and _draws_nothing(rng)


def test_haze_adds_most_to_blue_and_falls_with_wavelength() -> None:
    refl, valid = _chip()
    cfg = Haze(p=1, range=(0.02, 0.05))
    out = haze(refl, valid, np.random.default_rng(2), cfg, BANDS10)
    assert out.shape == refl.shape and out.dtype == np.float32 and out[:, 0, 0].max() == 0
    added = (out - refl)[:, 3, 3]
    assert 0.02 <= added[0] <= 0.05  # B02 within the range
    assert (np.diff(added[:8]) < 0).all() and added[-1] < added[-2] < added[0] / 3
    np.testing.assert_allclose(added[2], added[0] * (490 / 665) ** 1.5, rtol=1e-4)
    rng = np.random.default_rng(3)
    assert haze(refl, valid, rng, Haze(p=0), BANDS10) is refl and _draws_nothing(rng)


def test_l2a_shift_stays_within_its_documented_per_band_ranges() -> None:
    refl, valid = _chip()
    for seed in range(20):
        out = l2a_shift(refl, valid, np.random.default_rng(seed), L2AShift(p=1), BANDS10)
        assert out.shape == refl.shape and out.dtype == np.float32 and out[:, 0, 0].max() == 0
        for i, b in enumerate(BANDS10):
            (a0, a1), (c0, c1) = L2A[b]
            lo = np.maximum(refl[i] * a0 + max(c0, c1) - 1e-6, 0)  # the extreme corners
            lo = np.minimum(lo, np.maximum(refl[i] * a1 + min(c0, c1), 0))
            hi = np.maximum(refl[i] * a1 + max(c0, c1), refl[i] * a0 + max(c0, c1)) + 1e-6
            assert (out[i][valid] >= lo[valid] - 1e-6).all() and (out[i][valid] <= hi[valid]).all()
    out = l2a_shift(refl, valid, np.random.default_rng(0), L2AShift(p=1), BANDS10)
    assert (out[0][valid] < refl[0][valid]).all()  # blue darker
    assert not np.array_equal(out, refl)
    rng = np.random.default_rng(3)
    assert l2a_shift(refl, valid, rng, L2AShift(p=0), BANDS10) is refl and _draws_nothing(rng)


def test_new_augmentations_off_leave_the_old_draws_alone_and_need_band_names() -> None:
    refl, valid = _chip()
    old = AugmentConfig()
    a = radiometric(refl, valid, np.random.default_rng(4), old, BANDS10)
    np.testing.assert_array_equal(a, jitter(refl, valid, np.random.default_rng(4)))
    on = AugmentConfig(illumination={"p": 1}, haze={"p": 1}, l2a={"p": 1})
    b = radiometric(refl, valid, np.random.default_rng(4), on, BANDS10)
    assert b.shape == refl.shape and not np.allclose(a, b)
    with pytest.raises(ValueError, match="2 band names for 10"):
        radiometric(refl, valid, np.random.default_rng(4), on, BANDS10[:2])
