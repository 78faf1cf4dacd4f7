"""D4 geometry moves image and label together; jitter touches only valid reflectance; both as
configured."""

from __future__ import annotations

import numpy as np
import pytest

from geoseg.train.config import AugmentConfig
from geoseg.train.transforms import NO_AUGMENT, d4, geometric, jitter, radiometric


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
    x, lab = geometric(refl, label, rng, NO_AUGMENT)
    assert x is refl and lab is label
    assert rng.random() == np.random.default_rng(0).random()
    on = AugmentConfig()
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(radiometric(refl, valid, a, on), jitter(refl, valid, b))
    _, lab = geometric(refl, label, a, on)
    np.testing.assert_array_equal(lab, d4(refl, label, int(b.integers(0, 8)))[1])
