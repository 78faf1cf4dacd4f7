"""The model's input, built the same way for training and inference.

Bands (reflectance), then spectral indices, normalised per channel; invalid pixels become 0, the
normalised mean. One function for both sides, so a network never sees inputs at inference that
differ (even by one ulp) from those it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from geoseg import indices


def read_bands(bands: Sequence[str], index_names: Sequence[str]) -> list[str]:
    """Bands to read: the model's own, then the extra ones its indices need."""
    extra = [b for b in indices.required_bands(index_names) if b not in bands]
    return [*bands, *extra]


def features(
    reflectance: np.ndarray,
    valid: np.ndarray,
    bands: Sequence[str],
    index_names: Sequence[str],
    mean: np.ndarray,
    std: np.ndarray,
) -> np.ndarray:
    """Normalised model input ``(channels, h, w)`` from reflectance of :func:`read_bands`."""
    named = dict(zip(read_bands(bands, index_names), reflectance, strict=True))
    x = np.empty((len(bands) + len(index_names), *valid.shape), dtype=np.float32)
    x[: len(bands)] = reflectance[: len(bands)]
    return complete_features(x, named, valid, bands, index_names, mean, std)


def complete_features(
    x: np.ndarray,
    named: Mapping[str, np.ndarray],
    valid: np.ndarray,
    bands: Sequence[str],
    index_names: Sequence[str],
    mean: np.ndarray,
    std: np.ndarray,
) -> np.ndarray:
    """Finish a model input in place, so a reader can fill ``x[:len(bands)]`` with reflectance
    directly (no second copy of a chunk): the index channels are computed from ``named`` (every
    band an index needs; views into ``x`` welcome), then every channel is normalised."""
    indices.compute(index_names, named, valid, out=x[len(bands) :])
    x -= np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    x *= 1.0 / np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
    x *= valid
    return x
