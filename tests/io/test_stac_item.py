"""The STAC item written beside a run's outputs, and the notebook-facing result API.

pystac ships the core STAC JSON schemas, so the item is validated against them offline; the
projection and classification extension schemas are only published online, so their fields are
checked here by value instead (the items validate against them when a network is at hand).
"""

import json
from datetime import date
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from pystac.validation import validate_dict
from typer.testing import CliRunner

import geoseg
from geoseg.cli.app import app
from geoseg.io.grid import Grid
from geoseg.io.stac_item import AssetSpec, build_item, footprint_wgs84
from tests.conftest import NORCIA


@pytest.fixture(scope="module")
def run(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> geoseg.ClassifyResult:
    out = tmp_path_factory.mktemp("stac")
    options = geoseg.Options(indices=("NDVI", "NDWI"), min_area_ha=0.5)
    return geoseg.classify(NORCIA, out, model=bundle_dir, options=options)


def test_item_beside_outputs(run: geoseg.ClassifyResult) -> None:
    assert run.stac_item == run.out_dir / f"{NORCIA.name}_item.json"
    assert run.stac_item in run.outputs
    data = json.loads(run.stac_item.read_text())
    core = {k: v for k, v in data.items() if k != "stac_extensions"}
    validate_dict(core)  # core Item schema, bundled with pystac (offline)
    item = pystac.Item.from_file(str(run.stac_item))
    assert item.id == NORCIA.name
    assert item.datetime is not None and item.datetime.date() == date(2017, 10, 18)
    assert set(item.assets) == {
        "classes", "confidence", "indices", "polygons", "stats_csv", "stats_json", "style",
        "confidence_style",
    }  # fmt: skip
    for asset in item.assets.values():  # relative hrefs that resolve to the files
        assert not Path(asset.href).is_absolute()
        assert (run.out_dir / asset.href).is_file()
    assert item.assets["classes"].media_type == pystac.MediaType.COG
    assert item.assets["polygons"].media_type == "application/geopackage+sqlite3"
    assert any("projection" in uri for uri in data["stac_extensions"])
    assert any("classification" in uri for uri in data["stac_extensions"])


def test_projection_fields(run: geoseg.ClassifyResult) -> None:
    data = json.loads(run.stac_item.read_text())  # type: ignore[union-attr]
    props = data["properties"]
    with rasterio.open(run.classes) as ds:
        assert props["proj:code"] == f"EPSG:{ds.crs.to_epsg()}" == "EPSG:32633"
        assert props["proj:shape"] == [ds.height, ds.width] == [299, 348]
        assert props["proj:transform"] == pytest.approx(list(ds.transform)[:6])
        assert props["proj:bbox"] == pytest.approx(list(ds.bounds))
    # WGS84 bbox around Norcia (13.09 E, 42.79 N)
    west, south, east, north = data["bbox"]
    assert 13.0 < west < east < 13.2 and 42.7 < south < north < 42.9
    with rasterio.open(run.classes) as ds:
        assert props["geoseg:model_sha256"] == ds.tags()["GEOSEG_MODEL_SHA256"]
    assert props["geoseg:valid_pixels"] == run.valid_pixels


def test_classification_fields(run: geoseg.ClassifyResult) -> None:
    data = json.loads(run.stac_item.read_text())  # type: ignore[union-attr]
    classes = data["assets"]["classes"]["classification:classes"]
    assert [c["value"] for c in classes] == [*range(9), 255]
    assert classes[0]["name"] == "water" and classes[0]["color_hint"] == "419BDF"
    assert classes[-1] == {"value": 255, "name": "nodata", "nodata": True}
    stats = run.stats.set_index("class_id")
    for c in classes[:-1]:
        assert c["count"] == stats.pixels[c["value"]]
        assert c["percentage"] == pytest.approx(stats.share_pct[c["value"]], abs=1e-6)
    assert sum(c["count"] for c in classes[:-1]) == run.valid_pixels


def test_footprint_of_a_known_grid() -> None:
    from affine import Affine
    from rasterio.crs import CRS

    # 1 km square at 500 km easting on the equator, UTM 31N: centred on 3 E, 0 N
    grid = Grid(CRS.from_epsg(32631), Affine(10, 0, 499_500, 0, -10, 1000), 100, 100)
    geom = footprint_wgs84(grid)
    lon = np.array([p[0] for p in geom["coordinates"][0]])
    lat = np.array([p[1] for p in geom["coordinates"][0]])
    assert lon.min() == pytest.approx(3 - 500 / 111_320 / 0.9996, abs=1e-5)
    assert lat.max() == pytest.approx(1000 / 110_574 / 0.9996, abs=1e-5)
    item = build_item("x", grid, [], [AssetSpec("a", Path("a.csv"), ("data",), "A")])
    assert item.properties["geoseg:datetime_is_processing_time"] is True


def test_open_classes_as_xarray(run: geoseg.ClassifyResult) -> None:
    da = run.open_classes()
    assert da.dims == ("y", "x") and da.shape == (299, 348)
    assert da.rio.crs.to_epsg() == 32633
    assert da.attrs["class_names"][4] == "crops"
    assert da.attrs["flag_meanings"].split()[0] == "water"
    assert da.attrs["class_colors"][0] == "#419bdf"
    counts = np.bincount(da.values.ravel(), minlength=256)[:9]
    assert counts.tolist() == run.stats.pixels.tolist()
    idx = run.open_indices()
    assert list(idx.band.values) == ["NDVI", "NDWI"]
    assert float(idx.sel(band="NDVI").max()) <= 1.0
    assert run.open_confidence().dims == ("y", "x")


def test_quicklook(run: geoseg.ClassifyResult, tmp_path: Path) -> None:
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    from shapely.geometry import box

    with rasterio.open(run.classes) as ds:
        b = ds.bounds
        crs = ds.crs.to_wkt()
    fields = gpd.GeoDataFrame(
        geometry=[box(b.left + 500, b.bottom + 500, b.left + 1000, b.bottom + 900)], crs=crs
    )
    fig = geoseg.plot.quicklook(run.classes, NORCIA, fields=fields, max_size=128, title="Norcia")
    assert len(fig.axes) == 2
    legend = fig.axes[1].get_legend()
    present = set(run.stats.class_name[run.stats.pixels > 0])
    assert {t.get_text() for t in legend.get_texts()} == present
    image = fig.axes[1].get_images()[0].get_array()
    assert max(image.shape) == 128  # decimated read, not the full raster
    fig.savefig(tmp_path / "q.png")
    rgb = geoseg.plot.true_colour(geoseg.open_scene(NORCIA), max_size=64)
    assert rgb.shape == (55, 64, 4) and rgb[..., :3].min() >= 0 and rgb[..., :3].max() <= 1
    assert (rgb[..., 3] == 0).any()  # Norcia's nodata wedges are transparent


def test_no_stac_option(bundle_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["classify", str(NORCIA), "-o", str(tmp_path), "--model", str(bundle_dir), "--no-stac",
         "--no-vectorize"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert not list(tmp_path.glob("*_item.json"))
