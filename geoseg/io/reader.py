"""One entry point for every input kind: GeoTIFF (file or band folder), SAFE (folder or zip), STAC.

:func:`open_scene` chooses the reader by what the path is, then applies the mask options the same
way for all kinds, so the rest of the pipeline only ever sees a :class:`~geoseg.io.scene.Scene`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from geoseg.errors import BandError, InputError
from geoseg.io import geotiff, safe, stac
from geoseg.io.masks import SCL_CLOUD_CLASSES, parse_classes, user_mask
from geoseg.io.scene import Scene

KINDS = ("geotiff", "safe", "safe-zip", "stac")


def scene_kind(path: str | Path) -> str:
    """``stac`` (URL or .json), ``safe-zip`` (.zip), ``safe`` (.SAFE folder or one holding an MTD
    file) or ``geotiff`` (anything else: a raster or a folder of band rasters)."""
    if stac.is_stac(path):
        return "stac"
    p = Path(path)
    if safe.is_safe(p):
        return "safe-zip" if p.is_file() or p.suffix.lower() == ".zip" else "safe"
    return "geotiff"


def open_scene(
    path: str | Path,
    bands: Mapping[str, tuple[str | None, int]] | str | None = None,
    nodata: float | None = None,
    offset: float | None = None,
    scale: float | None = None,
    mask: str | Path | None = None,
    scl_classes: str | Sequence[int] | None = None,
    cloud_mask: bool = True,
    keep: str | Path | None = None,
) -> Scene:
    """Open any supported input as a lazy :class:`Scene` with its masks set.

    ``bands`` maps bands of GeoTIFFs without band names; ``nodata``, ``offset`` (DN) and ``scale``
    override the file's or product's values. Masks: the product's SCL (``scl_classes``, default
    3,8,9,10; ``cloud_mask=False`` to ignore it), a ``mask`` raster (nonzero = masked) and a
    ``keep`` raster (only nonzero pixels are classified).
    """
    kind = scene_kind(path)
    if kind == "geotiff":
        scene = geotiff.open_scene(path, bands, nodata, offset, scale)
    elif bands:
        raise BandError(
            "a band mapping applies to GeoTIFF inputs only",
            "--bands",
            f"drop --bands: a {kind} input names its bands itself",
        )
    elif kind == "stac":
        scene = stac.open_stac(path, nodata, offset, scale)
    else:
        scene = safe.open_safe(path, nodata, offset, scale)
    return with_masks(scene, mask, scl_classes, cloud_mask, keep)


def with_masks(
    scene: Scene,
    mask: str | Path | None = None,
    scl_classes: str | Sequence[int] | None = None,
    cloud_mask: bool = True,
    keep: str | Path | None = None,
) -> Scene:
    """The scene with its masks set: the SCL mask (if the product has one and ``cloud_mask``)
    masking ``scl_classes`` (default :data:`SCL_CLOUD_CLASSES`), plus the user's ``mask`` and
    ``keep`` rasters."""
    if scl_classes is not None and cloud_mask and not any(m.name == "SCL" for m in scene.masks):
        raise InputError(
            "scene has no scene classification (SCL) band to mask clouds with",
            scene.source,
            "SCL masks need a Level-2A product (SAFE, zip or STAC item); use --mask FILE instead",
        )
    masks = []
    for source in scene.masks:
        if source.name != "SCL":
            masks.append(source)
        elif cloud_mask:
            classes = SCL_CLOUD_CLASSES if scl_classes is None else parse_classes(scl_classes)
            if classes:
                masks.append(replace(source, classes=classes))
    if mask is not None:
        masks.append(user_mask(mask, scene.grid))
    if keep is not None:
        masks.append(user_mask(keep, scene.grid, keep=True))
    scene.masks = masks
    return scene
