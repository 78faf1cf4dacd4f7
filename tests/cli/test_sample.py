"""``geoseg sample``: a stratified sample written and tabled; per-class sizes parsed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import assert_clean_failure, invoke


def test_sample_writes_points_and_a_table(classes_tif: Path, tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    res = invoke("sample", str(classes_tif), "-o", str(points), "-n", "12", "--per-class", "b=2")
    assert res.exit_code == 0, res.output
    assert "12 points" in res.stdout and "then run geoseg area-estimate" in res.stdout
    pts = pd.read_csv(points)
    assert pts.map_class.value_counts().to_dict() == {"a": 10, "b": 2}


@pytest.mark.parametrize("text", ["water", "water=many", "=5x"])
def test_bad_per_class_size(text: str, classes_tif: Path, tmp_path: Path) -> None:
    res = invoke("sample", str(classes_tif), "-o", str(tmp_path / "p.csv"), "--per-class", text)
    assert_clean_failure(res, "cannot parse per-class size")
    assert not (tmp_path / "p.csv").exists()
