"""``geoseg sample``: a stratified sample written and tabled; per-class sizes parsed; what
cannot give a sample refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from tests.cli.conftest import assert_clean_failure, class_raster, invoke
from tests.conftest import NORCIA


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


@pytest.mark.parametrize(
    ("raster", "args", "message"),
    [
        ("norcia_tif", (), r"not a class raster \(10 bands\) .*: give the <scene>_classes.tif"),
        ("NORCIA", (), r"not a class raster \(a folder\)"),
        ("confidence_tif", (), r"not a class raster \(its values are .*percent\)"),
        ("classes_tif", ("-n", "0"), r"-n 0 draws no points: give -n 1 or more"),
        ("classes_tif", ("-n", "-3"), r"-n -3 is out of range"),
        ("classes_tif", ("-o", "{tmp}/a_file/points.gpkg"), r"a_file is a file, not a folder"),
    ],
)
def test_sample_refuses_what_would_give_no_sample(
    raster: str, args: tuple[str, ...], message: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """One line, exit 2, nothing written: never an empty sample file or a traceback."""
    (tmp_path / "a_file").write_text("")
    if raster == "NORCIA":
        path = NORCIA
    elif raster == "confidence_tif":
        path = class_raster(tmp_path / "x_confidence.tif", np.full((4, 4), 80))
        with rasterio.open(path, "r+") as ds:
            ds.update_tags(GEOSEG_UNITS="max class probability, percent")
    else:
        path = request.getfixturevalue(raster)
    out = tmp_path / "out" / "points.gpkg"
    args = tuple(a.format(tmp=tmp_path) for a in args)
    res = invoke("sample", str(path), "-o", str(out), *args)
    assert_clean_failure(res, message, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a_file", *([path.name] if path.parent == tmp_path else [])]
    )
