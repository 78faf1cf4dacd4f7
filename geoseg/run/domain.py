"""Is this input something the model knows? Checked before a run and said in one line.

Physically impossible reflectance (a wrong ``--scale`` or ``--offset``) stops the run: its map
would be confidently wrong (all snow, all trees). Reflectance that is possible but unlike the
training data, and a processing level the model was not trained on, are warnings: the run goes
on, the CLI prints them and the stats JSON keeps them.
"""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

from geoseg.errors import InputError
from geoseg.io.scene import Scene
from geoseg.models.bundle import Bundle

#: windows read per side of the scene, and their size: a cheap, spread-out sample
SAMPLE_GRID = 5
SAMPLE_SIZE = 64
#: reflectance a band's median may take on Earth (snow and sun glint reach ~1.2; L2A allows
#: slightly negative values)
PLAUSIBLE = (-0.05, 1.5)
#: medians further than this many training standard deviations from the training mean
FAR = 3.0


def band_medians(scene: Scene, names: list[str]) -> dict[str, float]:
    """Median reflectance of each band over valid pixels of a grid of small windows; kept on
    the scene, since a run checks its input before and reports on it after (each sample costs
    decoded blocks per window: 1.3–1.8 CPU s on the bench's 12-band ZSTD scenes)."""
    key = ("band_medians", *names)
    if key not in scene.memo:
        scene.memo[key] = _band_medians(scene, names)
    return dict(scene.memo[key])


def _band_medians(scene: Scene, names: list[str]) -> dict[str, float]:
    h, w = scene.grid.height, scene.grid.width
    size_r, size_c = min(SAMPLE_SIZE, h), min(SAMPLE_SIZE, w)
    rows = np.linspace(0, h - size_r, SAMPLE_GRID).astype(int)
    cols = np.linspace(0, w - size_c, SAMPLE_GRID).astype(int)
    values: list[np.ndarray] = []
    for r in sorted(set(rows.tolist())):
        for c in sorted(set(cols.tolist())):
            data, valid = scene.read(Window(c, r, size_c, size_r), names)
            values.append(data[:, valid])
    pixels = np.concatenate(values, axis=1)
    if pixels.shape[1] == 0:
        return {}
    return {name: float(v) for name, v in zip(names, np.median(pixels, axis=1), strict=True)}


def processing_level(scene: Scene) -> str | None:
    """``L1C``/``L2A`` when the product says so (SAFE, STAC, or L2A offsets in GeoTIFF tags)."""
    level = scene.provenance.get("S2_PROCESSING_LEVEL")
    if level:
        return level
    if any(key.startswith("BOA_") for key in scene.tags):
        return "L2A"
    name = scene.source.upper()  # product names say it: S2A_MSIL2A_…, S2B_MSIL1C_…
    return "L2A" if "MSIL2A" in name else "L1C" if "MSIL1C" in name else None


def assess(scene: Scene, bundle: Bundle) -> list[str]:
    """Warnings about an input the model may not know; :class:`InputError` for reflectance no
    scene can have."""
    spec = bundle.spec
    medians = band_medians(scene, list(spec.bands))
    low, high = PLAUSIBLE
    bad = {b: m for b, m in medians.items() if not low <= m <= high}
    if bad:
        band, value = max(bad.items(), key=lambda kv: abs(kv[1]))
        raise InputError(
            f"reflectance is implausible (median {band} {value:.3g}, expected {low}–{high})",
            scene.source,
            "check --scale and --offset: reflectance = DN × scale + offset",
        )
    warnings = []
    level = processing_level(scene)
    if level and level not in spec.processing_levels:
        known = "/".join(spec.processing_levels)
        warnings.append(
            f"{level} input, but the model knows {known}: expect weaker classes (MODEL.md)"
        )
    norm = spec.normalization
    far = {
        b: (medians[b] - norm.mean[i]) / norm.std[i]
        for i, b in enumerate(spec.bands)
        if b in medians and abs(medians[b] - norm.mean[i]) > FAR * norm.std[i]
    }
    if far:
        band = max(far, key=lambda b: abs(far[b]))
        i = spec.bands.index(band)
        warnings.append(
            f"reflectance unlike the training data (median {band} {medians[band]:.3f}, "
            f"training {norm.mean[i]:.3f} ± {norm.std[i]:.3f}): check --scale/--offset"
        )
    return warnings
