import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.windows import Window

import geoseg
from geoseg.io.geotiff import open_scene
from geoseg.run import classify as pipeline
from geoseg.run.classify import Options
from tests.conftest import BEIRUT, NORCIA


@pytest.fixture(scope="module")
def norcia_run(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> geoseg.ClassifyResult:
    out = tmp_path_factory.mktemp("run")
    return geoseg.classify(NORCIA, out, model=bundle_dir, options=Options(indices=("NDVI",)))


def test_class_raster_sits_on_the_input_grid(norcia_run: geoseg.ClassifyResult) -> None:
    scene = open_scene(NORCIA)
    _, valid = scene.read(Window(0, 0, 348, 299), ["B02", "B03", "B04", "B08"])
    with rasterio.open(norcia_run.classes) as ds:
        assert (ds.crs, ds.transform, ds.width, ds.height) == (
            scene.grid.crs,
            scene.grid.transform,
            scene.grid.width,
            scene.grid.height,
        )
        assert ds.dtypes[0] == "uint8" and ds.nodata == 255
        data = ds.read(1)
        assert ((data == 255) == ~valid).all()
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.colormap(1)[0][:3] == (0x41, 0x9B, 0xDF)
        tags = ds.tags()
        assert tags["GEOSEG_VERSION"] == geoseg.__version__
        assert len(tags["GEOSEG_MODEL_SHA256"]) == 64 and tags["GEOSEG_SOURCE"].endswith(
            NORCIA.name
        )
    aux = norcia_run.classes.with_name(norcia_run.classes.name + ".aux.xml").read_text()
    assert "<Category>water</Category>" in aux
    assert "paletteEntry" in norcia_run.style.read_text()


def test_confidence_and_index_rasters(norcia_run: geoseg.ClassifyResult) -> None:
    assert norcia_run.confidence is not None and norcia_run.indices is not None
    with rasterio.open(norcia_run.confidence) as ds, rasterio.open(norcia_run.classes) as cls:
        conf, classes = ds.read(1), cls.read(1)
        assert ((conf == 255) == (classes == 255)).all()
        assert conf[classes != 255].min() >= 100 // 9 and conf[classes != 255].max() <= 100
    with rasterio.open(norcia_run.indices) as ds:
        assert ds.descriptions == ("NDVI",)
        ndvi = ds.read(1)
        assert np.nanmin(ndvi) >= -1 and np.nanmax(ndvi) <= 1 and np.isnan(ndvi).any()


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


def test_geopackage_layers_style_and_polygon_areas(norcia_run: geoseg.ClassifyResult) -> None:
    gpkg = norcia_run.polygons
    assert gpkg is not None
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"landcover", "class_stats", "layer_styles"} <= layers
    polys = pyogrio.read_dataframe(gpkg, layer="landcover")
    assert set(polys.columns) >= {
        "class_id",
        "class_name",
        "area_m2",
        "area_ha",
        "perimeter_m",
        "confidence",
    }
    assert polys.geometry.is_valid.all()
    assert polys.area_m2.sum() == pytest.approx(norcia_run.valid_pixels * 100.0)
    np.testing.assert_allclose(polys.area_m2, polys.geometry.area)
    per_class = polys.groupby("class_id").size()
    stats = norcia_run.stats.set_index("class_id")
    assert (stats.loc[per_class.index, "polygons"] == per_class).all()
    style = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert style.f_table_name[0] == "landcover" and bool(style.useAsDefault[0])
    assert "categorizedSymbol" in style.styleQML[0]


def test_overviews_on_a_larger_scene(bundle_dir: Path, tmp_path: Path) -> None:
    res = geoseg.classify(
        BEIRUT, tmp_path, model=bundle_dir, options=Options(vectorize=False, confidence=False)
    )
    with rasterio.open(res.classes) as ds:
        assert ds.overviews(1) == [2, 4]
        assert ds.block_shapes[0] == (512, 512)
    assert res.polygons is None and not (tmp_path / f"{BEIRUT.name}.gpkg").exists()


def test_a_failed_run_leaves_nothing_behind(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "polygonize", boom)
    with pytest.raises(RuntimeError):
        geoseg.classify(NORCIA, tmp_path, model=bundle_dir)
    left = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".geoseg-chunks-") for name in left)  # only the resume store
    with pytest.raises(RuntimeError):
        geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(resume=False))
    assert [p.name for p in tmp_path.iterdir()] == left


def test_a_rerun_recomputes_only_the_missing_chunks(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geoseg.engine.local import InProcessEngine

    opts = Options(tile_size=128, overlap=32, chunk_size=96, vectorize=False, engine="inprocess")
    reference = geoseg.classify(NORCIA, tmp_path / "ref", model=bundle_dir, options=opts)
    computed: list[tuple[int, int]] = []
    original = InProcessEngine.outputs

    def dies_after_three(self, job, todo):  # type: ignore[no-untyped-def]
        for n, out in enumerate(original(self, job, todo)):
            computed.append((out.chunk.row, out.chunk.col))
            if n == 3:
                raise KeyboardInterrupt  # the run is killed after four chunks
            yield out

    monkeypatch.setattr(InProcessEngine, "outputs", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        geoseg.classify(NORCIA, tmp_path / "run", model=bundle_dir, options=opts)
    assert not (tmp_path / "run" / reference.classes.name).exists()
    first = list(computed)
    computed.clear()
    monkeypatch.setattr(
        InProcessEngine,
        "outputs",
        lambda self, job, todo: (
            computed.append((o.chunk.row, o.chunk.col)) or o for o in original(self, job, todo)
        ),
    )
    again = geoseg.classify(NORCIA, tmp_path / "run", model=bundle_dir, options=opts)
    assert set(computed).isdisjoint(first[:3]) and len(computed) + 3 == 12  # 3 x 4 chunks
    with rasterio.open(again.classes) as a, rasterio.open(reference.classes) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
    assert not any(p.name.startswith(".geoseg-") for p in (tmp_path / "run").iterdir())


def test_rerun_replaces_outputs(bundle_dir: Path, tmp_path: Path) -> None:
    first = geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(min_area_ha=0))
    second = geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(min_area_ha=1))
    assert first.polygons == second.polygons
    polys = pyogrio.read_dataframe(second.polygons, layer="landcover")
    assert polys.pixels.min() >= 100
    expected = [p.name for p in second.outputs] + [second.classes.name + ".aux.xml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)


def test_geographic_crs_areas_are_geodesic(bundle_dir: Path, tmp_path: Path) -> None:
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from geoseg.core.areas import row_areas_m2

    src_path = tmp_path / "utm.tif"
    from tests.conftest import write_stack

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
    assert res.stats.area_m2.sum() == pytest.approx(expected, rel=1e-9)
    assert 80 < rows.mean() < 120  # ~10 m pixels, in m², not square degrees
    polys = pyogrio.read_dataframe(res.polygons, layer="landcover")
    assert polys.area_m2.sum() == pytest.approx(expected, rel=2e-3)


def test_stages_write_what_classify_writes(
    norcia_run: geoseg.ClassifyResult, bundle_dir: Path, tmp_path: Path
) -> None:
    """segment → vectorize → summarize (as the Prefect flow runs them) equals one classify."""
    opts = Options(indices=("NDVI",))
    seg = pipeline.segment(NORCIA, tmp_path, model=bundle_dir, options=opts)
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {p.name for p in seg.outputs} | {seg.classes.name + ".aux.xml"}
    vectors = pipeline.vectorize(seg, opts)
    result = pipeline.summarize(seg, vectors)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in norcia_run.out_dir.iterdir() if not p.name.startswith(".")
    )
    with rasterio.open(result.classes) as a, rasterio.open(norcia_run.classes) as b:
        assert (a.read(1) == b.read(1)).all()
    assert result.stats_csv.read_text() == norcia_run.stats_csv.read_text()
    assert sum(vectors.polygons_per_class) == len(
        pyogrio.read_dataframe(result.polygons, layer="landcover")
    )
    mine, theirs = (
        json.loads(result.stats_json.read_text()),
        json.loads(norcia_run.stats_json.read_text()),
    )
    assert mine == theirs and mine["options"]["indices"] == ["NDVI"]


def test_source_identity_changes_when_the_input_is_rewritten(tmp_path: Path) -> None:
    src = tmp_path / "scene.tif"
    src.write_bytes((NORCIA / "B10m.tif").read_bytes())
    first = pipeline.source_identity(open_scene(src))
    assert pipeline.source_identity(open_scene(src)) == first
    src.write_bytes(src.read_bytes() + b"\0")
    assert pipeline.source_identity(open_scene(src)) != first
