"""The optional outputs of classify: class probabilities (consistent with the class and
confidence rasters, chunk seams included) and the quick-look PNG, also drawn after the run."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

import geoseg
from geoseg.errors import InputError
from geoseg.run.options import Options
from geoseg.run.quicklook import quicklook_of_run
from tests.conftest import NORCIA

pytestmark = pytest.mark.slow

#: small tiles and chunks: many chunk seams, where probabilities are assembled from strips
TILING = {"tile_size": 64, "overlap": 16, "chunk_size": 64, "vectorize": False, "stac": False}


@pytest.fixture(scope="module")
def runs(
    bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[geoseg.ClassifyResult, geoseg.ClassifyResult]:
    """The demo crop without and with the optional outputs, on the same tiling."""
    plain = geoseg.classify(
        NORCIA, tmp_path_factory.mktemp("plain"), model=bundle_dir, options=Options(**TILING)
    )
    opts = Options(probabilities=True, quicklook=True, **TILING)
    full = geoseg.classify(NORCIA, tmp_path_factory.mktemp("full"), model=bundle_dir, options=opts)
    return plain, full


def _read(path: Path | None) -> np.ndarray:
    assert path is not None
    with rasterio.open(path) as ds:
        return ds.read()


def test_probabilities_agree_with_classes_and_confidence(
    runs: tuple[geoseg.ClassifyResult, geoseg.ClassifyResult],
) -> None:
    plain, full = runs
    assert full.probabilities is not None and full.probabilities in full.outputs
    with rasterio.open(full.probabilities) as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 255
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        probs = ds.read()
    classes, confidence = _read(full.classes)[0], _read(full.confidence)[0]
    # the option changes nothing else
    np.testing.assert_array_equal(classes, _read(plain.classes)[0])
    np.testing.assert_array_equal(confidence, _read(plain.confidence)[0])
    nodata = classes == 255
    assert nodata.any() and (probs[:, nodata] == 255).all()
    valid = probs[:, ~nodata].astype(np.int64)
    assert (valid <= 100).all()
    assert (np.abs(valid.sum(axis=0) - 100) <= len(probs)).all()
    assert (np.abs(valid.max(axis=0) - confidence[~nodata]) <= 1).all()
    top2 = np.sort(valid, axis=0)[-2:]
    clear = top2[1] > top2[0]  # no tie after rounding: the argmax is the class
    assert clear.any()  # a random model is unsure: most pixels tie after rounding
    own = np.take_along_axis(valid, classes[~nodata][None].astype(np.int64), axis=0)[0]
    np.testing.assert_array_equal(own, confidence[~nodata])  # the class's band is the max
    np.testing.assert_array_equal(valid.argmax(axis=0)[clear], classes[~nodata][clear])


def test_probability_bands_are_named_after_the_classes(
    runs: tuple[geoseg.ClassifyResult, geoseg.ClassifyResult], bundle_dir: Path
) -> None:
    _, full = runs
    names = tuple(c.name for c in geoseg.load_bundle(bundle_dir).classes)
    assert full.probabilities is not None
    with rasterio.open(full.probabilities) as ds:
        assert ds.descriptions == names
    assert list(full.open_probabilities().band.values) == list(names)


def test_the_confidence_raster_has_its_style(
    runs: tuple[geoseg.ClassifyResult, geoseg.ClassifyResult],
) -> None:
    _, full = runs
    assert full.confidence_style == full.out_dir / "norcia_20171018_confidence.qml"
    assert "singlebandpseudocolor" in full.confidence_style.read_text()


def _size(png: Path) -> tuple[int, int]:
    with Image.open(png) as img:
        assert img.format == "PNG"
        return img.size


def test_classify_writes_the_quicklook(
    runs: tuple[geoseg.ClassifyResult, geoseg.ClassifyResult],
) -> None:
    plain, full = runs
    assert plain.quicklook is None and not list(plain.out_dir.glob("*.png"))
    assert full.quicklook == full.out_dir / "norcia_20171018_quicklook.png"
    width, height = _size(full.quicklook)
    assert 1500 <= width <= 2500 and 600 <= height <= 1200  # two panels and a legend


def test_quicklook_of_a_finished_run(
    runs: tuple[geoseg.ClassifyResult, geoseg.ClassifyResult], tmp_path: Path
) -> None:
    plain, _ = runs
    png, scene = quicklook_of_run(plain.out_dir)
    assert png == plain.out_dir / "norcia_20171018_quicklook.png" and scene is not None
    both = _size(png)
    # the source is gone: the class map alone
    moved = tmp_path / "x_classes.tif"
    moved.write_bytes(plain.classes.read_bytes())
    with rasterio.open(moved, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
        ds.update_tags(GEOSEG_SOURCE=str(tmp_path / "gone"))
    png, scene = quicklook_of_run(moved, dest=tmp_path / "look.png")
    assert scene is None and png == tmp_path / "look.png"
    alone = _size(png)
    assert alone[0] < both[0] and 600 <= alone[1] <= 1200


def test_quicklook_needs_one_class_raster(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no class raster"):
        quicklook_of_run(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        quicklook_of_run(tmp_path / "missing_classes.tif")
