"""Areas of interest (``--aoi`` vectors, ``--bbox``): outside is masked like a keep raster,
rasterised per window, refused at the door when bad or off the scene."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.windows import Window
from shapely.geometry import box

from geoseg.errors import InputError, OptionError
from geoseg.io.read_options import ReadOptions
from geoseg.io.reader import open_scene
from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA

#: part of the Norcia crop (lon/lat): about its middle third each way
BBOX = (13.085, 42.789, 13.100, 42.799)


def _gpkg(path: Path, bounds: tuple[float, ...] = BBOX, crs: str = "EPSG:4326") -> Path:
    gpd.GeoDataFrame({"name": ["area"]}, geometry=[box(*bounds)], crs=crs).to_file(path)
    return path


def _inside_pixels(bounds: tuple[float, ...] = BBOX) -> float:
    """The polygon's area in scene pixels (10 m), from its reprojection."""
    poly = gpd.GeoSeries([box(*bounds)], crs="EPSG:4326").segmentize(1e-4)
    return float(poly.to_crs("EPSG:32633").area.iloc[0]) / 100.0


def test_aoi_keeps_only_the_polygon_and_matches_bbox(tmp_path: Path) -> None:
    aoi = open_scene(NORCIA, aoi=_gpkg(tmp_path / "aoi.gpkg"))
    bbox = open_scene(NORCIA, bbox=BBOX)
    full = Window(0, 0, aoi.grid.width, aoi.grid.height)
    masked = aoi.read_mask(full)
    assert masked is not None
    assert abs((~masked).sum() - _inside_pixels()) / _inside_pixels() < 0.02
    assert (masked != bbox.read_mask(full)).sum() < 20  # edges: the bbox is densified
    part = aoi.read_mask(Window(100, 50, 64, 64))  # per window: the same pixels
    np.testing.assert_array_equal(part, masked[50:114, 100:164])
    assert (
        aoi.masks[-1].describe() != open_scene(NORCIA, bbox=(13.08, *BBOX[1:])).masks[-1].describe()
    )


def test_vector_keep_and_mask_and_other_crs(tmp_path: Path) -> None:
    utm = gpd.GeoSeries([box(*BBOX)], crs="EPSG:4326").to_crs("EPSG:3857").total_bounds
    path = _gpkg(tmp_path / "web.gpkg", tuple(utm), "EPSG:3857")
    full = Window(0, 0, 348, 299)
    kept = open_scene(NORCIA, keep=path).read_mask(full)
    out = open_scene(NORCIA, mask=_gpkg(tmp_path / "a.geojson")).read_mask(full)
    assert kept is not None and out is not None
    assert 0 < (~kept).sum() < kept.size and 0 < out.sum() < out.size
    assert abs(out.sum() - (~kept).sum()) / out.sum() < 0.05  # the same area, two CRSs


def test_aoi_off_the_scene_or_bad_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--aoi does not overlap the scene"):
        open_scene(NORCIA, aoi=_gpkg(tmp_path / "far.gpkg", (2.0, 48.0, 2.1, 48.1)))
    with pytest.raises(InputError, match="--bbox does not overlap"):
        open_scene(NORCIA, bbox=(2.0, 48.0, 2.1, 48.1))
    with pytest.raises(InputError, match="vector file not found"):
        open_scene(NORCIA, aoi=tmp_path / "missing.gpkg")
    with pytest.raises(OptionError, match="--bbox"):
        ReadOptions.build(bbox=(1, 2, 3))


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--aoi", "--bbox"])
def test_classify_inside_the_area_only(flag: str, bundle_dir: Path, tmp_path: Path) -> None:
    value = str(_gpkg(tmp_path / "aoi.gpkg")) if flag == "--aoi" else ",".join(map(str, BBOX))
    out = tmp_path / "out"
    res = invoke(
        "classify", str(NORCIA), "-o", str(out), "--model", str(bundle_dir),
        flag, value, "--no-vectorize",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    stats = json.loads(next(out.glob("*_stats.json")).read_text())
    with rasterio.open(next(out.glob("*_classes.tif"))) as ds:
        classes = ds.read(1)
        assert flag.strip("-") in ds.tags()["GEOSEG_MASKS"]
    valid = int((classes != 255).sum())
    assert abs(valid - _inside_pixels()) / _inside_pixels() < 0.02
    assert stats["valid_pixels"] == valid and stats["masked_pixels"] > 0  # stats: inside only


@pytest.mark.slow
def test_classify_with_an_area_off_the_scene_writes_nothing(
    bundle_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    far = _gpkg(tmp_path / "far.gpkg", (2.0, 48.0, 2.1, 48.1))
    res = invoke(
        "classify", str(NORCIA), "-o", str(out), "--model", str(bundle_dir), "--aoi", str(far)
    )
    assert_clean_failure(res, "--aoi does not overlap the scene", out)
    res = invoke("classify", str(NORCIA), "-o", str(out), "--model", str(bundle_dir),
                 "--bbox", "2,48,2.1,48.1")  # fmt: skip
    assert_clean_failure(res, "--bbox does not overlap the scene", out)
