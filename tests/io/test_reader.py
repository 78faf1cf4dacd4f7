"""One dispatcher for every input kind; the same scene gives the same classes whatever its form,
and masked pixels become nodata, left out of polygons and areas, with the masked share reported."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio import windows

from geoseg.errors import BandError
from geoseg.io import gpkg
from geoseg.io.reader import open_scene, scene_kind
from geoseg.models.bundle import Bundle, load_bundle
from geoseg.run.classify import ClassifyResult, Options, classify
from tests.conftest import NORCIA
from tests.io.products import SCL_MASKED_10M, TILE

FAST = Options(vectorize=False, confidence=False)  # resume on: chunk store keys for zip/STAC


def test_kind_by_path(l2a_safe: Path, l2a_zip: Path, stac_es: Path, norcia_tif: Path) -> None:
    assert scene_kind(NORCIA) == scene_kind(norcia_tif) == "geotiff"
    assert scene_kind(l2a_safe) == "safe" and scene_kind(l2a_zip) == "safe-zip"
    assert scene_kind(stac_es) == "stac"
    assert scene_kind("https://earth-search.aws.element84.com/v1/items/S2B_33TUH") == "stac"
    assert open_scene(l2a_zip).kind == "safe-zip" and open_scene(stac_es).kind == "stac"


def test_band_mapping_is_for_geotiffs_only(l2a_safe: Path) -> None:
    with pytest.raises(BandError, match="applies to GeoTIFF inputs only"):
        open_scene(l2a_safe, bands="B02=1")


@pytest.fixture(scope="module")
def bundle(bundle_dir: Path) -> Bundle:
    return load_bundle(bundle_dir)


def _classes(result: ClassifyResult) -> np.ndarray:
    with rasterio.open(result.classes) as ds:
        return ds.read(1)


@pytest.mark.slow
def test_same_classes_from_geotiff_safe_zip_and_stac(
    bundle: Bundle,
    tmp_path: Path,
    l1c_safe: Path,
    l2a_zip: Path,
    stac_es: Path,
    stac_pc: Path,
) -> None:
    ref = _classes(classify(NORCIA, tmp_path / "tif", bundle, FAST))
    assert (ref != 255).sum() > 0.9 * ref.size
    for i, src in enumerate((l1c_safe, l2a_zip, stac_es, stac_pc)):
        result = classify(src, tmp_path / str(i), bundle, FAST, cloud_mask=False)
        np.testing.assert_array_equal(_classes(result), ref, err_msg=str(src))
        assert result.masked_pixels == 0


@pytest.mark.slow  # several whole runs (seconds)
def test_masked_pixels_become_nodata_and_leave_the_statistics(
    bundle: Bundle, tmp_path: Path, l2a_safe: Path
) -> None:
    opts = Options(confidence=True, resume=False, min_area_ha=0.0, indices=("NDVI",))
    clear = classify(l2a_safe, tmp_path / "clear", bundle, opts, cloud_mask=False)
    cloudy = classify(l2a_safe, tmp_path / "cloudy", bundle, opts)
    a, b = _classes(clear), _classes(cloudy)
    masked = open_scene(l2a_safe).read_mask(windows.Window(0, 0, a.shape[1], a.shape[0]))
    assert masked is not None and masked.sum() == SCL_MASKED_10M
    assert (b[masked] == 255).all()
    np.testing.assert_array_equal(b[~masked], a[~masked])  # the model still saw the clouds
    with rasterio.open(cloudy.confidence) as ds:  # type: ignore[arg-type]
        assert (ds.read(1)[masked] == 255).all()
    with rasterio.open(cloudy.indices) as ds, rasterio.open(clear.indices) as ref:  # type: ignore[arg-type]
        ndvi, ndvi_clear = ds.read(1), ref.read(1)
    assert np.isnan(ndvi[masked]).all() and not np.isnan(ndvi_clear[masked]).any()
    np.testing.assert_array_equal(ndvi[~masked], ndvi_clear[~masked])

    # every masked pixel held data here, so the counts are exact
    assert cloudy.masked_pixels == SCL_MASKED_10M
    assert cloudy.valid_pixels == clear.valid_pixels - SCL_MASKED_10M
    assert int(cloudy.stats.pixels.sum()) == cloudy.valid_pixels
    share = SCL_MASKED_10M / clear.valid_pixels
    assert cloudy.masked_share == pytest.approx(share)
    summary = json.loads(cloudy.stats_json.read_text())
    assert summary["masked_pixels"] == SCL_MASKED_10M
    assert summary["masked_pct"] == pytest.approx(100 * share)
    assert summary["nodata_pixels"] == a.size - clear.valid_pixels
    assert summary["masks"] == ["SCL (classes 3,8,9,10)"]
    assert summary["scene"]["S2_TILE_ID"] == TILE and summary["scene"]["kind"] == "safe"

    # polygons cover exactly the unmasked classified pixels: nothing inside the cloud block
    polygons = gpd.read_file(cloudy.polygons, layer=gpkg.POLYGON_LAYER)
    assert polygons.pixels.sum() == cloudy.valid_pixels
    with rasterio.open(cloudy.classes) as ds:
        cloud = shapely.box(*windows.bounds(windows.Window(81, 81, 58, 38), ds.transform))
    assert polygons.geometry.intersection(cloud).area.sum() == pytest.approx(0.0, abs=1e-6)


def test_provenance_tags_in_the_class_cog(bundle: Bundle, tmp_path: Path, stac_es: Path) -> None:
    result = classify(stac_es, tmp_path, bundle, FAST)
    with rasterio.open(result.classes) as ds:
        tags = ds.tags()
    assert tags["S2_TILE_ID"] == TILE and tags["GEOSEG_SOURCE_KIND"] == "stac"
    assert tags["S2_SENSING_TIME"].startswith("2017-10-18T10:10:21")
    assert tags["S2_PROCESSING_BASELINE"] == "05.09"
    assert tags["GEOSEG_MASKS"] == "SCL (classes 3,8,9,10)"
    assert result.classes.name == "item_classes.tif"
