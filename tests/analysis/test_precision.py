"""Precision checks: each precision against fp32 on labelled crops, as ``auto`` reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoseg.analysis.precision import check_precisions
from geoseg.engine.precision import FAST_ON
from geoseg.models.bundle import load_bundle
from tests.conftest import NORCIA_LABELLED


@pytest.mark.slow
def test_bf16_is_checked_against_fp32_and_the_labels(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    checks = check_precisions(bundle, [(NORCIA_LABELLED, NORCIA_LABELLED / "label.tif")], ["bf16"])
    check = checks["bf16"]
    assert set(checks) == {"bf16"}
    assert 0.9 < check.agreement <= 1.0
    assert abs(check.oa_delta) < 5 and 0 <= check.max_iou_delta < 10
    assert check.scenes == [NORCIA_LABELLED.name]
    assert set(check.cpu_flags) <= set(FAST_ON["bf16"])
