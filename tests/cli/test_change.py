"""``geoseg change``: the command's own part (arguments, summary, exit codes); the outputs and
every bad input are checked in ``tests/analysis/test_change.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.cli.conftest import assert_clean_failure, class_raster, invoke


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """4 x 4 px of 10 m: the south half turns from a to b (0.08 ha)."""
    data = np.zeros((4, 4), np.uint8)
    before = class_raster(tmp_path / "may_classes.tif", data)
    data[2:] = 1
    return before, class_raster(tmp_path / "june_classes.tif", data)


def test_change_writes_outputs_and_summary(tmp_path: Path) -> None:
    before, after = _pair(tmp_path)
    out = tmp_path / "out"
    res = invoke("change", str(before), str(after), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "changed 0.08 ha, unchanged 0.08 ha, 1 change polygons" in res.stdout
    assert "a  " in res.stdout and "0.08" in res.stdout  # the table of largest changes
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "change.gpkg",
        "change_classes.qml",
        "change_classes.tif",
        "change_classes.tif.aux.xml",
        "change_matrix.csv",
        "change_matrix.json",
    ]
    matrix = pd.read_csv(out / "change_matrix.csv", index_col=0)
    assert matrix.loc["a", "b"] == 0.08 and matrix.loc["b"].sum() == 0


def test_min_area_option(tmp_path: Path) -> None:
    before, after = _pair(tmp_path)
    res = invoke("change", str(before), str(after), "-o", str(tmp_path / "o"), "--min-area", "1")
    assert res.exit_code == 0, res.output
    assert "changed 0.08 ha, unchanged 0.08 ha, 0 change polygons" in res.stdout


def test_bad_inputs_exit_2_and_write_nothing(tmp_path: Path) -> None:
    before, after = _pair(tmp_path)
    out = tmp_path / "out"
    res = invoke("change", str(tmp_path / "none.tif"), str(after), "-o", str(out))
    assert_clean_failure(res, r"before map not found \(.*none.tif\): give", out)
    other = class_raster(tmp_path / "x_classes.tif", np.zeros((4, 4), np.uint8), ("a", "c"))
    res = invoke("change", str(before), str(other), "-o", str(out))
    assert_clean_failure(res, "the maps have different classes", out)
    res = invoke("change", str(before), str(after), "-o", str(out), "--min-area", "-1")
    assert_clean_failure(res, "--min-area -1.0 is out of range", out)


def test_help_lists_the_command() -> None:
    res = invoke("--help")
    assert "change" in res.stdout
    res = invoke("change", "--help")
    assert res.exit_code == 0 and "--min-area" in res.stdout
