"""``geoseg info``: scenes of every kind and model bundles described."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA


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
