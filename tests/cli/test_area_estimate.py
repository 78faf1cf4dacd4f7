"""``geoseg area-estimate`` (and ``evaluate --area-estimate``): a labelled sample to areas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import assert_clean_failure, invoke


@pytest.fixture
def labelled(classes_tif: Path, tmp_path: Path) -> Path:
    """A sample of the class raster, labelled as mapped."""
    points = tmp_path / "points.csv"
    assert invoke("sample", str(classes_tif), "-o", str(points), "-n", "20").exit_code == 0
    table = pd.read_csv(points)
    table["reference_class"] = table["map_class"]
    table.to_csv(points, index=False)
    return points


def test_area_estimate_prints_and_writes(classes_tif: Path, labelled: Path, tmp_path: Path) -> None:
    js, csv = tmp_path / "areas.json", tmp_path / "areas.csv"
    res = invoke(
        "area-estimate", str(classes_tif), str(labelled), "--json", str(js), "--csv", str(csv)
    )
    assert res.exit_code == 0, res.output
    assert "Area estimates (95 % intervals" in res.stdout
    assert "Overall accuracy 1.000" in res.stdout
    data = json.loads(js.read_text())
    assert [c["estimated_area_ha"] for c in data["classes"]] == pytest.approx([8, 8])
    assert pd.read_csv(csv).estimated_area_ha.tolist() == pytest.approx([8, 8])
    via_evaluate = tmp_path / "evaluate.json"
    res = invoke(
        "evaluate", str(classes_tif), str(labelled), "--area-estimate", "--json", str(via_evaluate)
    )
    assert res.exit_code == 0, res.output
    assert json.loads(via_evaluate.read_text()) == data


def test_unwritable_json(classes_tif: Path, labelled: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "areas.json"
    res = invoke("area-estimate", str(classes_tif), str(labelled), "--json", str(target))
    assert_clean_failure(res, "cannot write")


def test_unlabelled_sample(classes_tif: Path, tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    invoke("sample", str(classes_tif), "-o", str(points), "-n", "10")
    res = invoke("area-estimate", str(classes_tif), str(points))
    assert_clean_failure(res, "have no reference label")
