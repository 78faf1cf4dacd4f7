"""STAC items with per-band COG assets (Earth Search and Planetary Computer naming)."""

import json
from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window

from geoseg.errors import BandError, InputError
from geoseg.io.geotiff import open_scene as open_geotiff
from geoseg.io.stac import _gdal_path, open_stac
from geoseg.io.sun import sun_from_metadata
from tests.conftest import BANDS, NORCIA
from tests.io.products import SUN, TILE, make_stac_item


def _full(scene):  # type: ignore[no-untyped-def]
    return scene.read(Window(0, 0, scene.grid.width, scene.grid.height), BANDS)


@pytest.mark.parametrize("style", ["stac_es", "stac_pc"])
def test_item_reads_the_same_reflectance_as_the_geotiff(
    style: str, request: pytest.FixtureRequest
) -> None:
    item: Path = request.getfixturevalue(style)
    ref, scene = open_geotiff(NORCIA), open_stac(item)
    assert scene.kind == "stac" and scene.grid.same_as(ref.grid)
    assert scene.band_names == ["B01", *BANDS[:6], "B08", "B8A", "B11", "B12"]
    (r0, v0), (r1, v1) = _full(ref), _full(scene)
    np.testing.assert_array_equal(v1, v0)
    np.testing.assert_allclose(r1, r0, atol=1e-6)  # DN stored +1000, offset -0.1 from the item
    assert scene.bands["B04"].offset == pytest.approx(-0.1)
    assert scene.provenance["S2_TILE_ID"] == TILE
    assert scene.provenance["S2_SENSING_TIME"].startswith("2017-10-18T10:10:21")
    assert scene.provenance["S2_PROCESSING_BASELINE"] == "05.09"
    # Earth Search states view:sun_elevation, Planetary Computer s2:mean_solar_zenith
    assert sun_from_metadata(scene.provenance) == pytest.approx(SUN)
    (scl,) = scene.masks
    assert scl.classes == (3, 8, 9, 10)


def test_earth_search_names_and_cog_preference(stac_es: Path) -> None:
    scene = open_stac(stac_es)
    # keys blue/rededge1/nir08/swir16 (eo common name "rededge" is ambiguous and never used)
    assert Path(scene.bands["B05"].path).name == "B05.tif"
    assert Path(scene.bands["B8A"].path).name == "B8A.tif"
    # each band also has a "-jp2" twin whose file does not exist: the COG must win
    assert all(b.path.endswith(".tif") for b in scene.bands.values())
    # relative hrefs resolved against the item's folder
    assert all(Path(b.path).is_absolute() for b in scene.bands.values())


def test_raster_bands_scale_wins_over_the_baseline(tmp_path: Path) -> None:
    item = make_stac_item(tmp_path, "earth-search", baseline="05.09")
    data = json.loads(item.read_text())
    data["assets"]["red"]["raster:bands"][0].update(scale=2e-4, offset=-0.05)
    item.write_text(json.dumps(data))
    red = open_stac(item).bands["B04"]
    assert (red.scale, red.offset) == (pytest.approx(2e-4), pytest.approx(-0.05))
    pc = make_stac_item(tmp_path / "pc", "planetary-computer", baseline="03.01")
    assert open_stac(pc).bands["B04"].offset == 0  # before baseline 04.00: no offset


def test_remote_hrefs_go_through_gdal_http() -> None:
    assert _gdal_path("https://x.org/a/B02.tif") == "/vsicurl/https://x.org/a/B02.tif"
    assert _gdal_path("s3://bucket/a/B02.tif") == "/vsis3/bucket/a/B02.tif"
    assert _gdal_path("/data/B02.tif") == "/data/B02.tif"


def test_missing_asset_is_named(tmp_path: Path) -> None:
    item = make_stac_item(tmp_path)
    (tmp_path / "cogs" / "B04.tif").unlink()
    with pytest.raises(InputError, match=r"asset 'red' not found: .*cogs/B04.tif"):
        open_stac(item)


def test_truncated_asset(tmp_path: Path) -> None:
    item = make_stac_item(tmp_path)
    cog = tmp_path / "cogs" / "B03.tif"
    cog.write_bytes(cog.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"band raster is missing, truncated.*asset 'green'"):
        open_stac(item)


def test_item_errors(tmp_path: Path, stac_es: Path) -> None:
    with pytest.raises(InputError, match="STAC item not found"):
        open_stac(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text(stac_es.read_text()[:300])
    with pytest.raises(InputError, match="not valid JSON"):
        open_stac(broken)
    collection = tmp_path / "collection.json"
    collection.write_text(
        json.dumps(
            {
                "type": "Collection",
                "stac_version": "1.0.0",
                "id": "sentinel-2-l2a",
                "description": "d",
                "license": "proprietary",
                "extent": {
                    "spatial": {"bbox": [[-180, -90, 180, 90]]},
                    "temporal": {"interval": [[None, None]]},
                },
                "links": [],
            }
        )
    )
    with pytest.raises(InputError, match="a STAC Collection, not an item"):
        open_stac(collection)
    no_bands = tmp_path / "no_bands.json"
    data = json.loads(stac_es.read_text())
    data["assets"] = {"thumbnail": data["assets"]["thumbnail"]}
    no_bands.write_text(json.dumps(data))
    with pytest.raises(BandError, match="no single-band raster assets"):
        open_stac(no_bands)


def test_unreachable_url_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="cannot fetch the STAC item"):
        open_stac("http://127.0.0.1:9/items/S2B.json")  # nothing listens on port 9
