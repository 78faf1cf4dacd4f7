"""Augmentations: geometry applied to image and label together, radiometry to the image only.

D4 (4 rotations × optional flip) is exact on the pixel grid, so labels stay crisp. Radiometric
jitter acts on reflectance before indices are computed, so NDVI/NDWI stay consistent with the bands
they come from; it mimics calibration, haze and L1C/L2A differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geoseg.train.config import AugmentConfig, Haze, Illumination, L2AShift

#: Sentinel-2 MSI central wavelengths (nm), for the haze offset's fall-off with wavelength.
WAVELENGTH_NM = {
    "B01": 443, "B02": 490, "B03": 560, "B04": 665, "B05": 705, "B06": 740, "B07": 783,
    "B08": 842, "B8A": 865, "B09": 945, "B10": 1375, "B11": 1610, "B12": 2190,
}  # fmt: skip

#: Level-1C → Level-2A per band: gain ``a`` and offset ``c`` ranges of ``x·a + c`` (reflectance),
#: the first value of each at the weakest atmosphere, the second at the strongest.
#:
#: Atmospheric correction removes path radiance (scattered light that never touched the ground:
#: strongest in blue, falling with wavelength) and divides by the two-way transmittance (< 1,
#: closer to 1 at longer wavelengths), so L2A = (L1C − path) / T: an offset below zero, largest in
#: B02, and a gain ≥ 1. Over vegetation the division wins in NIR/red-edge (L2A slightly higher),
#: the subtraction in blue/green (a few hundredths lower). Measured here (issue 13): the 6
#: BigEarthNet L2A patches (farmland, pasture, forest; June–February) against the 59 vegetated
#: EuroSAT L1C patches (AnnualCrop, Forest, Herbaceous, Pasture, PermanentCrop), median
#: L2A − L1C: B02 −0.068, B03 −0.024, B04 −0.031, B05 +0.003, B06 +0.057, B07 +0.057,
#: B08 +0.073, B8A +0.045, B11 −0.040, B12 −0.017; dark-object (2nd percentile) L1C values, an
#: upper bound on path radiance: B02 0.073, B03 0.059, B04 0.034. The two sets are different
#: places and seasons (the L2A patches are greener in NIR, two are winter), so they bound the
#: ranges rather than fix them. The ranges follow the typical Sen2Cor correction over land
#: (blue −0.03…−0.07, green −0.015…−0.045, red −0.01…−0.035, NIR/red-edge ×1.03…1.15) and agree
#: in sign and size with the measured medians for B02–B04 and B06–B8A. B05 (+0.003 measured) gets
#: a small net change (−0.005…−0.018 at reflectance 0.12). B11/B12 medians (−0.04/−0.02) reflect
#: the different land (wet winter soil), not the atmosphere, which barely touches SWIR: kept
#: near the identity. Bands not listed stay unchanged.
L2A: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "B02": ((1.00, 1.10), (-0.030, -0.070)),
    "B03": ((1.00, 1.08), (-0.015, -0.045)),
    "B04": ((1.00, 1.06), (-0.010, -0.035)),
    "B05": ((1.00, 1.06), (-0.005, -0.025)),
    "B06": ((1.02, 1.12), (0.000, -0.010)),
    "B07": ((1.03, 1.15), (0.000, -0.010)),
    "B08": ((1.03, 1.15), (0.000, -0.010)),
    "B8A": ((1.03, 1.15), (0.000, -0.010)),
    "B11": ((1.00, 1.05), (0.000, -0.010)),
    "B12": ((1.00, 1.04), (0.000, -0.010)),
}


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


def illumination(
    reflectance: np.ndarray, valid: np.ndarray, rng: np.random.Generator, cfg: Illumination
) -> np.ndarray:
    """Low sun or shade: all bands times one factor from ``cfg.range`` (e.g. 0.6–1.1). Winter
    scenes at high latitude reach the ground at a low sun angle, so every band is darker by about
    the cosine of the zenith angle, which TOA reflectance only partly normalises on slopes."""
    if not cfg.p or not rng.random() < cfg.p:  # p 0: no draw
        return reflectance
    return _clean(reflectance * np.float32(rng.uniform(*cfg.range)), valid)


def haze(
    reflectance: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
    cfg: Haze,
    bands: Sequence[str],
) -> np.ndarray:
    """Thin haze: ``h · (490 nm / λ_b) ** exponent`` added to band ``b``, ``h`` from ``cfg.range``
    (strongest in B02; aerosol scattering falls with wavelength, Ångström exponent ~1–2)."""
    if not cfg.p or not rng.random() < cfg.p:  # p 0: no draw
        return reflectance
    h = rng.uniform(*cfg.range)
    lam = np.array([WAVELENGTH_NM.get(b, 490) for b in bands], dtype=np.float64)
    add = np.asarray(h * (490.0 / lam) ** cfg.exponent, np.float32)
    return _clean(reflectance + add[:, None, None], valid)


def l2a_shift(
    reflectance: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
    cfg: L2AShift,
    bands: Sequence[str],
) -> np.ndarray:
    """Level-1C made to look like Level-2A: ``x·a_b + c_b`` per band with ranges :data:`L2A`.

    One draw ``u`` (uniform 0–1, times ``cfg.strength``) places every band between its weakest and
    strongest correction, since one atmosphere sets them all; each band then gets a small
    independent wobble (± 15 % of its range) as Sen2Cor's aerosol model is not exact.
    """
    if not cfg.p or not rng.random() < cfg.p:  # p 0: no draw
        return reflectance
    u = rng.uniform(0.0, 1.0) * cfg.strength
    wobble = rng.uniform(-0.15, 0.15, size=len(bands)) * cfg.strength
    a = np.ones(len(bands), np.float64)
    c = np.zeros(len(bands), np.float64)
    for i, b in enumerate(bands):
        if b in L2A:
            (a0, a1), (c0, c1) = L2A[b]
            t = min(max(u + wobble[i], 0.0), cfg.strength)
            a[i], c[i] = a0 + t * (a1 - a0), c0 + t * (c1 - c0)
    out = reflectance * a.astype(np.float32)[:, None, None] + c.astype(np.float32)[:, None, None]
    return _clean(out, valid)


def _clean(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Float32, no negative reflectance, nodata back to 0 (what nodata reads as at inference)."""
    out = np.maximum(x, 0.0, dtype=np.float32)
    out[:, ~valid] = 0.0
    return out


def radiometric(
    reflectance: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
    aug: AugmentConfig,
    bands: Sequence[str] = (),
) -> np.ndarray:
    """Illumination, haze, the L2A shift (each only when its ``p`` > 0), then the configured
    :func:`jitter`; ``rng`` is drawn from only by what is on, so configs without the newer
    augmentations draw exactly as before. ``bands`` names the reflectance rows."""
    if aug.illumination.p:
        reflectance = illumination(reflectance, valid, rng, aug.illumination)
    if aug.haze.p:
        reflectance = haze(reflectance, valid, rng, aug.haze, _named(bands, reflectance))
    if aug.l2a.p:
        reflectance = l2a_shift(reflectance, valid, rng, aug.l2a, _named(bands, reflectance))
    if not (aug.gain or aug.brightness or aug.offset):
        return reflectance
    return jitter(reflectance, valid, rng, aug.gain, aug.brightness, aug.offset)


def _named(bands: Sequence[str], reflectance: np.ndarray) -> Sequence[str]:
    if len(bands) != reflectance.shape[0]:
        raise ValueError(f"{len(bands)} band names for {reflectance.shape[0]} reflectance rows")
    return bands


def geometric(
    x: np.ndarray,
    label: np.ndarray,
    rng: np.random.Generator,
    aug: AugmentConfig,
    soft: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A random :func:`d4` element on model input, label and soft label (one draw), when D4 is
    on. The draw does not depend on ``soft``, so chips stay the same with or without it."""
    if not aug.d4:
        return x, label, soft
    k = int(rng.integers(0, 8))
    x, label = d4(x, label, k)
    if soft is not None:
        soft, _ = d4(soft, label, k)
    return x, label, soft
