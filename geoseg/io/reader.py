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
from geoseg.io.masks import (
    SCL_CLOUD_CLASSES,
    MaskSource,
    parse_classes,
    parse_cloud_mask,
    user_mask,
)
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
    cloud_mask: str | bool = "auto",
    keep: str | Path | None = None,
    aoi: str | Path | None = None,
    bbox: Sequence[float] | None = None,
    bbox_crs: str = "EPSG:4326",
) -> Scene:
    """Open any supported input as a lazy :class:`Scene` with its masks set.

    ``bands`` maps bands of GeoTIFFs without band names; ``nodata``, ``offset`` (DN) and ``scale``
    override the file's or product's values. Masks: ``cloud_mask`` (see :func:`with_masks`),
    a ``mask`` raster (nonzero = masked) and a ``keep`` raster (only nonzero pixels are
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
    cloud_mask: str | bool = "auto",
    keep: str | Path | None = None,
) -> Scene:
    """The scene with its masks set: the cloud masks ``cloud_mask`` names (``auto``: the
    product's SCL masking ``scl_classes``, default :data:`SCL_CLOUD_CLASSES`, where it has one,
    else clouds and shadows detected by :mod:`geoseg.io.clouds` where the scene has the bands;
    ``scl``, ``csmask``, ``scl,csmask``; ``none``), plus the user's ``mask`` and ``keep``."""
    choice = parse_cloud_mask(cloud_mask)
    methods = cloud_methods(scene, choice)
    if scl_classes is not None and choice != "none" and "scl" not in methods:
        if any(m.name == "SCL" for m in scene.masks):
            raise InputError(
                "--scl-classes applies to the SCL cloud mask",
                scene.source,
                "add scl to --cloud-mask",
            )
        raise InputError(
            "scene has no scene classification (SCL) band to mask clouds with",
            scene.source,
            "SCL masks need a Level-2A product (SAFE, zip or STAC item); use --mask FILE instead",
        )
    masks: list[MaskSource] = []
    for source in scene.masks:
        if source.name != "SCL":
            masks.append(source)
        elif "scl" in methods:
            classes = SCL_CLOUD_CLASSES if scl_classes is None else parse_classes(scl_classes)
            if classes:
                masks.append(replace(source, classes=classes))
    if "csmask" in methods:
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


def cloud_methods(scene: Scene, choice: str) -> tuple[str, ...]:
    """The cloud masks a parsed ``--cloud-mask`` gives on ``scene``; a named one the scene
    cannot give is an error (``auto`` takes what there is)."""
    has_scl = any(m.name == "SCL" for m in scene.masks)
    if choice == "none":
        return ()
    if choice == "auto":
        if has_scl:
            return ("scl",)
        return ("csmask",) if clouds.detectable(scene) else ()
    methods = tuple(choice.split(","))
    if "scl" in methods and not has_scl:
        raise InputError(
            "scene has no scene classification (SCL) band to mask clouds with",
            scene.source,
            "SCL masks need a Level-2A product (SAFE, zip or STAC item); use --cloud-mask csmask",
        )
    if "csmask" in methods and not clouds.detectable(scene):
        raise InputError(
            f"the cloud detector needs bands {', '.join(clouds.BANDS_4)} "
            f"(found: {', '.join(scene.bands) or 'none'})",
            scene.source,
            "use --cloud-mask none, or give a mask with --mask FILE",
        )
    return methods


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
