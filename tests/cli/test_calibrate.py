"""``geoseg calibrate``."""

from __future__ import annotations

import shutil
from pathlib import Path

from geoseg.models.bundle import load_bundle
from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA_LABELLED


def test_calibrate_writes_the_temperature_into_the_bundle(bundle_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bundle"
    shutil.copytree(bundle_dir, path)
    res = invoke("calibrate", str(path), "--scenes", str(NORCIA_LABELLED))
    assert res.exit_code == 0, res.output
    assert "expected calibration error" in res.stdout
    assert load_bundle(path).spec.temperature != 1.0


def test_calibrate_without_labels_is_one_line(bundle_dir: Path, tmp_path: Path) -> None:
    res = invoke("calibrate", str(bundle_dir), "--scenes", str(tmp_path))
    assert_clean_failure(res, "no crop folder with label.tif")
