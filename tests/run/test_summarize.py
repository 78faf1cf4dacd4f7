"""The summarize stage: the area table (CSV, stats JSON, GeoPackage) and the STAC item."""

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

import geoseg
from geoseg.io.geotiff import open_scene
from geoseg.run.identity import RunSummary
from tests.conftest import NORCIA

pytestmark = pytest.mark.slow


def test_statistics_agree_exactly_with_the_raster(norcia_run: geoseg.ClassifyResult) -> None:
    with rasterio.open(norcia_run.classes) as ds:
        data = ds.read(1)
    counts = np.bincount(data[data != 255], minlength=9)
    stats = norcia_run.stats
    assert stats.pixels.tolist() == counts.tolist()
    assert stats.area_m2.sum() == norcia_run.valid_pixels * 100.0
    summary = json.loads(norcia_run.stats_json.read_text())
    assert summary["valid_pixels"] == int(counts.sum())
    csv = norcia_run.stats_csv.read_text().splitlines()
    assert csv[0].startswith("class_id,class_name,color,pixels,area_m2,area_ha,share_pct,polygons")


def test_stats_json_reads_back_as_the_summary_model(norcia_run: geoseg.ClassifyResult) -> None:
    summary = RunSummary.load(norcia_run.stats_json)
    assert summary is not None
    assert summary.to_json() == norcia_run.stats_json.read_text()  # a lossless round trip
    assert summary.options.indices == ["NDVI"] and summary.valid_pixels == norcia_run.valid_pixels
    assert summary.areas_ha() == dict(
        zip(norcia_run.stats.class_name, norcia_run.stats.area_ha, strict=True)
    )


def test_stac_item_lists_every_output(norcia_run: geoseg.ClassifyResult) -> None:
    assert norcia_run.stac_item is not None
    item = json.loads(norcia_run.stac_item.read_text())
    hrefs = {Path(a["href"]).name for a in item["assets"].values()}
    outputs = {p.name for p in norcia_run.outputs if p != norcia_run.stac_item}
    assert hrefs == outputs
    assert item["properties"]["geoseg:valid_pixels"] == norcia_run.valid_pixels


def test_geographic_crs_areas_are_geodesic(bundle_dir: Path, tmp_path: Path) -> None:
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from geoseg.core.areas import row_areas_m2
    from tests.conftest import write_stack

    src_path = tmp_path / "utm.tif"
    write_stack(NORCIA, src_path)
    dst_path = tmp_path / "geo.tif"
    with rasterio.open(src_path) as src:
        transform, w, h = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds
        )
        profile = {
            **src.profile,
            "crs": "EPSG:4326",
            "transform": transform,
            "width": w,
            "height": h,
        }
        with rasterio.open(dst_path, "w", **profile) as dst:
            for i in range(1, src.count + 1):
                reproject(
                    rasterio.band(src, i), rasterio.band(dst, i), resampling=Resampling.nearest
                )
            dst.descriptions = src.descriptions
    res = geoseg.classify(dst_path, tmp_path / "out", model=bundle_dir)
    with rasterio.open(res.classes) as ds:
        data = ds.read(1)
        grid = open_scene(dst_path).grid
    rows = row_areas_m2(grid, range(grid.height))
    expected = float((rows * (data != 255).sum(axis=1)).sum())
    # each class's area to 0.01 m² (core.areas.M2_DECIMALS)
    assert res.stats.area_m2.sum() == pytest.approx(expected, abs=0.005 * len(res.stats))
    assert 80 < rows.mean() < 120  # ~10 m pixels, in m², not square degrees
    polys = pyogrio.read_dataframe(res.polygons, layer="landcover")
    assert polys.area_m2.sum() == pytest.approx(expected, rel=2e-3)
