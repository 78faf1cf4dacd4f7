"""``geoseg evaluate``: the argument combinations it accepts, and a raster pair end to end.

Scene folders through the command are in ``tests/analysis/test_evaluate.py``; ``--area-estimate``
in ``tests/cli/test_area_estimate.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import assert_clean_failure, class_raster, invoke


def test_a_pair_of_rasters(tmp_path: Path) -> None:
    truth = np.zeros((8, 8), np.uint8)
    truth[4:] = 1
    pred = truth.copy()
    pred[4, :4] = 0  # 4 of 64 pixels wrong
    a, b = class_raster(tmp_path / "pred.tif", pred), class_raster(tmp_path / "ref.tif", truth)
    res = invoke("evaluate", str(a), str(b), "--json", str(tmp_path / "m.json"))
    assert res.exit_code == 0, res.output
    assert "pred.tif vs ref.tif" in res.stdout and "OA 93.8 %" in res.stdout
    assert json.loads((tmp_path / "m.json").read_text())["pixels"] == 64
    assert str(tmp_path / "m.json") in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "evaluate needs PREDICTION and REFERENCE rasters"),
        (("a.tif",), "evaluate needs PREDICTION and REFERENCE rasters"),
        (("a.tif", "b.tif", "--scenes", "x"), "give either PREDICTION REFERENCE or --scenes"),
        (("a.tif", "--area-estimate"), "labelled sample as REFERENCE"),
        (("a.tif", "b.gpkg", "--area-estimate", "--scenes", "x"), "labelled sample as REFERENCE"),
        (("missing.tif", "b.tif"), "raster not found"),
    ],
)
def test_bad_arguments(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    res = invoke("evaluate", *(str(tmp_path / a) if a.endswith(".tif") else a for a in args))
    assert_clean_failure(res, message)
