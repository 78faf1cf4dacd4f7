"""``geoseg info``: scenes of every kind, model bundles and geoseg's own rasters described."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA

if TYPE_CHECKING:
    from geoseg import ClassifyResult


def test_info_on_scene_and_bundle(bundle_dir: Path) -> None:
    res = invoke("info", str(NORCIA))
    assert res.exit_code == 0 and "B8A" in res.stdout and "EPSG:32633" in res.stdout
    res = invoke("info", str(bundle_dir))
    assert res.exit_code == 0 and "unet_aspp" in res.stdout and "snow_and_ice" in res.stdout


def test_info_describes_safe_zip_and_stac(tmp_path: Path) -> None:
    from tests.io.products import TILE, make_safe, make_stac_item, zip_safe

    safe = make_safe(tmp_path / "p")
    for path, kind in (
        (safe, "safe"),
        (zip_safe(safe, tmp_path / "p.zip"), "safe-zip"),
        (make_stac_item(tmp_path / "s"), "stac"),
    ):
        res = invoke("info", str(path))
        assert res.exit_code == 0, res.output
        text = " ".join(res.stdout.split())
        assert f"kind: {kind}" in text and f"tile id: {TILE}" in text
        assert "sensing time: 2017-10-18T10:10:21" in text and "processing baseline: 05.09" in text
        assert "B8A" in text and "10 x 10" in text and "-0.1" in text  # offset per band
        assert "mask: SCL (classes 3,8,9,10)" in text


def test_info_names_the_cloud_mask_of_a_level1c_scene_without_running_it(tmp_path: Path) -> None:
    from tests.io.products import make_safe

    res = invoke("info", str(make_safe(tmp_path / "c", "L1C", "05.09")))
    assert res.exit_code == 0, res.output
    assert "mask: clouds (detected by ukis-csmask 1.0.0 U-Net at 30 m" in " ".join(
        res.stdout.split()
    )


def test_info_splits_an_scl_mask_into_cloud_and_shadow(bundle_dir: Path, tmp_path: Path) -> None:
    from tests.io.products import make_safe

    out = tmp_path / "out"
    safe = make_safe(tmp_path / "p", "L2A")  # its SCL: 700 cloud and 200 shadow pixels of 20 m
    args = ("classify", str(safe), "-o", str(out), "--model", str(bundle_dir), "--no-vectorize")
    assert invoke(*args).exit_code == 0
    info = invoke("info", str(next(out.glob("*_classes.tif"))))
    text = " ".join(info.stdout.split())
    assert re.search(
        r"cloud mask: scl \(cloud [\d.]+ %, shadow [\d.]+ % of the scene's data\)", text
    )


def test_info_on_a_missing_source(tmp_path: Path) -> None:
    assert_clean_failure(invoke("info", str(tmp_path / "nope.tif")), "scene not found")


def test_info_on_a_bundle_says_its_levels_calibration_and_known_limits(
    bundle_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from geoseg.models.bundle import load_bundle, save_spec

    path = tmp_path / "bundle"
    shutil.copytree(bundle_dir, path)
    spec = load_bundle(path).spec
    limits = ["Clouds are classified as what they look like."]
    save_spec(path, spec.model_copy(update={"known_limits": limits, "temperature": 1.7}))
    res = invoke("info", str(path))
    assert res.exit_code == 0, res.output
    assert "levels:       L1C" in res.stdout and "temperature:  1.7" in res.stdout
    assert "Known limits" in res.stdout and limits[0] in res.stdout


@pytest.fixture(scope="module")
def norcia_outputs(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ClassifyResult:
    """One real classify run of the demo crop with the test bundle, confidence and NDVI."""
    import geoseg
    from geoseg.run.options import Options

    out = tmp_path_factory.mktemp("run")
    return geoseg.classify(NORCIA, out, model=bundle_dir, options=Options(indices=("NDVI",)))


@pytest.mark.slow
def test_info_on_a_class_raster_geoseg_wrote(norcia_outputs: ClassifyResult) -> None:
    res = invoke("info", str(norcia_outputs.classes))
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "Class raster" in text and "random-test (weights sha256" in text
    assert f"scene: {NORCIA.resolve()} (geotiff)" in text and "date: 2017-10-18" in text
    assert "348 x 299 px, 10 x 10, EPSG:32633" in text
    stats = pd.read_csv(norcia_outputs.stats_csv)
    for row in stats.itertuples():  # the same counts as the run's own statistics
        cells = f"{row.class_id} │ {row.class_name} │ ■ {row.color} │ {row.pixels:,} │"
        assert cells in text, cells
    assert f"Classes ({stats.pixels.sum():,} px mapped" in text


@pytest.mark.slow
def test_info_on_the_confidence_and_index_rasters(norcia_outputs: ClassifyResult) -> None:
    assert norcia_outputs.confidence is not None and norcia_outputs.indices is not None
    res = invoke("info", str(norcia_outputs.confidence))
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "Confidence raster" in text and "values: max class probability, percent" in text
    assert re.search(r"confidence: mean \d+\.\d %, median \d+ %, \d+\.\d % of [\d,]+ px", text)
    res = invoke("info", str(norcia_outputs.indices))
    assert res.exit_code == 0, res.output
    assert "bands: NDVI" in res.stdout and "random-test" in res.stdout


def test_info_on_a_class_raster_without_provenance(classes_tif: Path) -> None:
    """The legend tag alone is enough: classes and shares, counted in strips."""
    res = invoke("info", str(classes_tif))
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "Class raster" in text and "40 x 40 px" in text and "model:" not in text
    assert "0 │ a │ - │ 800 │ 8.00 │ 50.00" in text and "1 │ b │ - │ 800 │ 8.00 │ 50.00" in text
