"""A STAC item describing one run's outputs, so catalogues and STAC browsers can index them.

The item carries the projection extension (CRS code/WKT2, transform, shape and native bbox: all
outputs share the scene grid) and the classification extension on the class raster (value, name,
colour, pixel count and share of each class, plus the nodata value). Asset hrefs are relative file
names, so the item stays valid when the output folder is moved or uploaded as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import date as Date
from pathlib import Path
from typing import Any

import pandas as pd
import pystac
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.projection import ProjectionExtension
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping, shape

from geoseg.classes import NODATA, ClassInfo
from geoseg.io.grid import Grid

COG = "image/tiff; application=geotiff; profile=cloud-optimized"
MEDIA_TYPES = {
    ".tif": COG,
    ".gpkg": "application/geopackage+sqlite3",
    ".csv": "text/csv",
    ".json": "application/json",
    ".qml": "text/xml",
    ".png": "image/png",
}


@dataclass(frozen=True)
class AssetSpec:
    """One output file: its key in the item, roles and title."""

    key: str
    path: Path
    roles: tuple[str, ...]
    title: str


def footprint_wgs84(grid: Grid) -> dict[str, Any]:
    """The grid's outline in WGS84 (edges densified, so a UTM square stays faithful)."""
    t = grid.transform
    x0, y0 = t * (0, 0)
    x1, y1 = t * (grid.width, grid.height)
    outline = box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)).segmentize(
        max(abs(x1 - x0), abs(y1 - y0)) / 16
    )
    geom: dict[str, Any] = transform_geom(grid.crs, "EPSG:4326", mapping(outline), precision=7)
    return dict(geom)


def build_item(
    item_id: str,
    grid: Grid,
    classes: Sequence[ClassInfo],
    assets: Sequence[AssetSpec],
    stats: pd.DataFrame | None = None,
    when: Date | datetime | None = None,
    properties: Mapping[str, Any] | None = None,
    class_asset: str = "classes",
    nodata: int = NODATA,
) -> pystac.Item:
    """Build the item; ``when`` is the scene's acquisition date (else the processing time, with
    ``geoseg:datetime_is_processing_time`` set so nobody mistakes it for the sensing date)."""
    now = datetime.now(UTC).replace(microsecond=0)
    props: dict[str, Any] = {"created": now.isoformat().replace("+00:00", "Z")}
    if when is None:
        stamp = now
        props["geoseg:datetime_is_processing_time"] = True
    elif isinstance(when, datetime):
        stamp = when if when.tzinfo else when.replace(tzinfo=UTC)
    else:
        stamp = datetime(when.year, when.month, when.day, tzinfo=UTC)
    props.update(properties or {})
    geometry = footprint_wgs84(grid)
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=list(shape(geometry).bounds),
        datetime=stamp,
        properties=props,
    )
    for spec in assets:
        item.add_asset(
            spec.key,
            pystac.Asset(
                href=spec.path.name,
                media_type=MEDIA_TYPES.get(spec.path.suffix.lower()),
                roles=list(spec.roles),
                title=spec.title,
            ),
        )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    epsg = grid.crs.to_epsg()
    proj.apply(
        code=f"EPSG:{epsg}" if epsg else None,
        wkt2=None if epsg else grid.crs.to_wkt(),
        shape=[grid.height, grid.width],
        transform=list(grid.transform)[:6],
        bbox=_native_bbox(grid),
    )
    if class_asset in item.assets:
        counts = _counts(stats)
        cls_ext = ClassificationExtension.ext(item.assets[class_asset], add_if_missing=True)
        cls_ext.apply(
            classes=[
                Classification.create(
                    value=c.id,
                    name=c.name,
                    description=c.name.replace("_", " "),
                    color_hint=c.color.lstrip("#").upper(),
                    **counts.get(c.id, {}),
                )
                for c in classes
            ]
            + [Classification.create(value=nodata, name="nodata", nodata=True)]
        )
    return item


def _native_bbox(grid: Grid) -> list[float]:
    t = grid.transform
    xs = [(t * (c, r))[0] for c in (0, grid.width) for r in (0, grid.height)]
    ys = [(t * (c, r))[1] for c in (0, grid.width) for r in (0, grid.height)]
    return [min(xs), min(ys), max(xs), max(ys)]


def _counts(stats: pd.DataFrame | None) -> dict[int, dict[str, Any]]:
    if stats is None or not {"class_id", "pixels", "share_pct"} <= set(stats.columns):
        return {}
    ids, pixels, shares = (stats[c].tolist() for c in ("class_id", "pixels", "share_pct"))
    return {
        int(i): {"count": int(n), "percentage": round(float(s), 6)}
        for i, n, s in zip(ids, pixels, shares, strict=True)
    }


def write_item(item: pystac.Item, path: Path) -> Path:
    """Write the item as JSON at ``path`` (no self link: the folder can move)."""
    item.save_object(include_self_link=False, dest_href=str(path))
    return path
