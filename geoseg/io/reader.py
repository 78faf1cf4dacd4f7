"""One entry point for every input kind: GeoTIFF (file or band folder), SAFE (folder or zip), STAC.

:func:`open_scene` chooses the reader by what the path is, then applies the mask options the same
way for all kinds, so the rest of the pipeline only ever sees a :class:`~geoseg.io.scene.Scene`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from geoseg.errors import BandError, InputError
from geoseg.io import clouds, geotiff, safe, stac
from geoseg.io.aoi import bbox_mask, is_vector, vector_mask
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
    aoi: str | Path | None = None,
    bbox: Sequence[float] | None = None,
    bbox_crs: str = "EPSG:4326",
) -> Scene:
    """Open any supported input as a lazy :class:`Scene` with its masks set.

    ``bands`` maps bands of GeoTIFFs without band names; ``nodata``, ``offset`` (DN) and ``scale``
    override the file's or product's values. Masks: the product's SCL (``scl_classes``, default
    3,8,9,10) or, in Level-1C, clouds detected by s2cloudless (``cloud_mask=False`` turns either
    off), a ``mask`` raster (nonzero = masked) and a ``keep`` raster (only nonzero pixels are
    classified), an ``aoi`` vector file and a ``bbox`` (minx, miny, maxx, maxy in ``bbox_crs``):
    only pixels inside them are classified.
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
    scene = with_masks(scene, mask, scl_classes, cloud_mask, keep)
    return with_area(scene, aoi, bbox, bbox_crs)


def with_masks(
    scene: Scene,
    mask: str | Path | None = None,
    scl_classes: str | Sequence[int] | None = None,
    cloud_mask: bool = True,
    keep: str | Path | None = None,
) -> Scene:
    """The scene with its masks set: with ``cloud_mask``, the SCL mask (if the product has one)
    masking ``scl_classes`` (default :data:`SCL_CLOUD_CLASSES`), else clouds detected in a
    Level-1C scene that holds the detector's bands (:mod:`geoseg.io.clouds`); plus the user's
    ``mask`` and ``keep`` rasters."""
    has_scl = any(m.name == "SCL" for m in scene.masks)
    if scl_classes is not None and cloud_mask and not has_scl:
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
    if cloud_mask and not has_scl and clouds.detectable(scene):
        masks.append(clouds.cloud_source())
    for path, kept in ((mask, False), (keep, True)):
        if path is None:
            continue
        if is_vector(path):  # polygons: nonzero = inside them
            masks.append(vector_mask(path, scene.grid, "keep" if kept else "mask", keep=kept))
        else:
            masks.append(user_mask(path, scene.grid, keep=kept))
    scene.masks = masks
    return scene


def with_area(
    scene: Scene,
    aoi: str | Path | None = None,
    bbox: Sequence[float] | None = None,
    bbox_crs: str = "EPSG:4326",
) -> Scene:
    """The scene with keep masks for an area of interest (vector file) and a bounding box: only
    pixels inside both are classified."""
    if aoi is not None:
        scene.masks = [*scene.masks, vector_mask(aoi, scene.grid, "aoi")]
    if bbox is not None:
        scene.masks = [*scene.masks, bbox_mask(bbox, bbox_crs, scene.grid)]
    return scene
