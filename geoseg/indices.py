"""Spectral-index channels computed per window from reflectance, by name.

Every index is a pure function of reflectance arrays. Division is safe (a zero denominator gives 0),
results are finite and clipped to the index's meaningful range, and invalid pixels stay 0 so nodata
never leaks NaN/inf into the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from geoseg.errors import GeosegError

Array = np.ndarray


@dataclass(frozen=True)
class SpectralIndex:
    name: str
    bands: tuple[str, ...]
    formula: Callable[..., Array]
    limits: tuple[float, float]
    description: str


def _ratio(num: Array, den: Array) -> Array:
    out = np.zeros_like(num, dtype=np.float32)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _nd(a: Array, b: Array) -> Array:
    return _ratio(a - b, a + b)


REGISTRY: dict[str, SpectralIndex] = {
    idx.name: idx
    for idx in (
        SpectralIndex("NDVI", ("B08", "B04"), _nd, (-1, 1), "vegetation vigour (Rouse 1974)"),
        SpectralIndex(
            "NDWI", ("B03", "B08"), _nd, (-1, 1), "open water, green/NIR (McFeeters 1996)"
        ),
        SpectralIndex("MNDWI", ("B03", "B11"), _nd, (-1, 1), "water, green/SWIR (Xu 2006)"),
        SpectralIndex("NDBI", ("B11", "B08"), _nd, (-1, 1), "built-up, SWIR/NIR (Zha 2003)"),
        SpectralIndex(
            "SAVI",
            ("B08", "B04"),
            lambda n, r: 1.5 * _ratio(n - r, n + r + 0.5),
            (-1.5, 1.5),
            "soil-adjusted vegetation, L=0.5 (Huete 1988)",
        ),
        SpectralIndex(
            "EVI",
            ("B08", "B04", "B02"),
            lambda n, r, b: 2.5 * _ratio(n - r, n + 6 * r - 7.5 * b + 1),
            (-1, 1),
            "enhanced vegetation (Huete 2002)",
        ),
    )
}


def get(name: str) -> SpectralIndex:
    try:
        return REGISTRY[name.upper()]
    except KeyError:
        raise GeosegError(
            f"unknown spectral index {name!r}",
            "--indices",
            f"choose from {', '.join(REGISTRY)}",
        ) from None


def required_bands(names: Sequence[str]) -> list[str]:
    """Bands the given indices read, in first-use order."""
    out: list[str] = []
    for name in names:
        out += [b for b in get(name).bands if b not in out]
    return out


def compute(
    names: Sequence[str], bands: Mapping[str, Array], valid: Array, out: Array | None = None
) -> Array:
    """Stack the named indices ``(len(names), h, w)`` float32; 0 where ``valid`` is False.

    ``out`` (float32, that shape) receives them in place: the model input's own channels."""
    shape = (len(names), *valid.shape)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {shape}, got {out.dtype} {out.shape}")
    for k, name in enumerate(names):
        idx = get(name)
        value = idx.formula(*(bands[b] for b in idx.bands))
        np.clip(value, *idx.limits, out=out[k])
        out[k][~valid | ~np.isfinite(out[k])] = 0.0
    return out
