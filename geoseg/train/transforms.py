"""Augmentations: geometry applied to image and label together, radiometry to the image only.

D4 (4 rotations × optional flip) is exact on the pixel grid, so labels stay crisp. Radiometric
jitter acts on reflectance before indices are computed, so NDVI/NDWI stay consistent with the bands
they come from; it mimics calibration, haze and L1C/L2A differences.
"""

from __future__ import annotations

import numpy as np

from geoseg.train.config import AugmentConfig


def d4(image: np.ndarray, label: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Element ``k`` (0–7) of the dihedral group on ``image (C, H, W)`` and ``label (H, W)``.

    ``k % 4`` quarter turns counter-clockwise, then a left-right flip when ``k >= 4``.
    """
    if not 0 <= k < 8:
        raise ValueError(f"D4 element must be 0..7, got {k}")
    image = np.rot90(image, k % 4, axes=(-2, -1))
    label = np.rot90(label, k % 4, axes=(-2, -1))
    if k >= 4:
        image, label = image[..., ::-1], label[..., ::-1]
    return image, label


def jitter(
    reflectance: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
    gain: float = 0.05,
    brightness: float = 0.05,
    offset: float = 0.005,
) -> np.ndarray:
    """``refl * band_gain * brightness + band_offset`` on valid pixels; nodata stays 0."""
    c = reflectance.shape[0]
    g = np.asarray(rng.normal(1.0, gain, size=c) * rng.normal(1.0, brightness), np.float32)
    o = np.asarray(rng.normal(0.0, offset, size=c), np.float32)
    out = reflectance * g[:, None, None] + o[:, None, None]
    out = np.maximum(out, 0.0, dtype=np.float32)
    out[:, ~valid] = 0.0
    return out


#: Chips exactly as drawn: no geometry, no radiometry (e.g. to measure a network's mean response).
NO_AUGMENT = AugmentConfig(d4=False, gain=0, brightness=0, offset=0)


def radiometric(
    reflectance: np.ndarray, valid: np.ndarray, rng: np.random.Generator, aug: AugmentConfig
) -> np.ndarray:
    """The configured :func:`jitter`, drawn from ``rng`` only when some jitter is on."""
    if not (aug.gain or aug.brightness or aug.offset):
        return reflectance
    return jitter(reflectance, valid, rng, aug.gain, aug.brightness, aug.offset)


def geometric(
    x: np.ndarray, label: np.ndarray, rng: np.random.Generator, aug: AugmentConfig
) -> tuple[np.ndarray, np.ndarray]:
    """A random :func:`d4` element on model input and label (one draw), when D4 is on."""
    if not aug.d4:
        return x, label
    return d4(x, label, int(rng.integers(0, 8)))
