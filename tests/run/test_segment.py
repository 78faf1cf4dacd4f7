"""The segment stage: class, confidence and index rasters on the input grid; resumable chunks."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import geoseg
from geoseg.errors import InputError
from geoseg.io.geotiff import open_scene
from geoseg.run.options import Options
from geoseg.tiling import TileGrid
from tests.conftest import BEIRUT, NORCIA

pytestmark = pytest.mark.slow


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


def test_overviews_on_a_larger_scene(bundle_dir: Path, tmp_path: Path) -> None:
    res = geoseg.classify(
        BEIRUT, tmp_path, model=bundle_dir, options=Options(vectorize=False, confidence=False)
    )
    with rasterio.open(res.classes) as ds:
        assert ds.overviews(1) == [2, 4]
        assert ds.block_shapes[0] == (512, 512)
    assert res.polygons is None and not (tmp_path / f"{BEIRUT.name}.gpkg").exists()


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
    scene = open_scene(NORCIA)
    n_chunks = len(TileGrid.for_chunk_size(*scene.shape, 128, 32, 96, scene.grid.transform))
    assert set(computed).isdisjoint(first[:3]) and len(computed) + 3 == n_chunks
    with rasterio.open(again.classes) as a, rasterio.open(reference.classes) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
    assert not any(p.name.startswith(".geoseg-") for p in (tmp_path / "run").iterdir())


def test_an_all_nodata_scene_says_so_and_keeps_no_chunks(bundle_dir: Path, tmp_path: Path) -> None:
    from tests.conftest import write_stack

    src = tmp_path / "empty.tif"
    write_stack(NORCIA, src)
    with rasterio.open(src, "r+") as ds:
        for band in range(1, ds.count + 1):
            ds.write(np.zeros((ds.height, ds.width), dtype=ds.dtypes[0]), band)
    with pytest.raises(InputError, match="no valid pixels"):
        geoseg.classify(src, tmp_path / "out", model=bundle_dir)
    assert not list((tmp_path / "out").iterdir())
