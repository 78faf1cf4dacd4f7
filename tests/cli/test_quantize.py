"""``geoseg quantize``: an int8 model and precision checks recorded in the bundle."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from geoseg.models.bundle import INT8_FILE, load_bundle
from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA_LABELLED


@pytest.mark.slow
def test_quantize_writes_the_int8_model_and_both_checks(bundle_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bundle"
    shutil.copytree(bundle_dir, path)
    crop = str(NORCIA_LABELLED)
    res = invoke("quantize", str(path), "--calibrate-on", crop, "--check-on", crop, "--tiles", "2")
    assert res.exit_code == 0, res.output
    assert res.stdout.count("% of pixels as fp32") == 2 and "auto = " in res.stdout, res.stdout
    bundle = load_bundle(path)
    int8, bf16 = bundle.spec.precisions["int8"], bundle.spec.precisions["bf16"]
    assert int8.sha256 == hashlib.sha256((path / INT8_FILE).read_bytes()).hexdigest()
    assert int8.built_from == bundle.sha256
    for check in (int8, bf16):
        assert check.scenes == [NORCIA_LABELLED.name]
        assert 0.5 < check.agreement <= 1 and check.max_iou_delta >= 0, check
    assert bundle.int8_model  # loads: the recorded hash matches


def test_quantize_a_folder_that_is_not_a_bundle_is_one_line(tmp_path: Path) -> None:
    crop = str(NORCIA_LABELLED)
    res = invoke("quantize", str(tmp_path), "--calibrate-on", crop, "--check-on", crop)
    assert_clean_failure(res, "not a model bundle")


def test_quantize_without_labelled_crops_is_one_line(bundle_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bundle"
    shutil.copytree(bundle_dir, path)
    res = invoke(
        "quantize", str(path), "--calibrate-on", str(NORCIA_LABELLED), "--check-on", str(tmp_path)
    )
    assert_clean_failure(res, "no crop folder with label.tif")
    assert not (path / INT8_FILE).exists()
