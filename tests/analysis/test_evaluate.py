"""Rasters aligned, nodata ignored, classes mapped (metric maths: tests/core/test_metrics.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from geoseg.analysis.evaluate import ClassMapping, confusion_rasters, evaluate, load_mapping
from geoseg.core.metrics import confusion
from geoseg.errors import InputError
from tests.conftest import DATA, REPO


def _write(path: Path, data: np.ndarray, transform: Affine, crs: str = "EPSG:32633") -> Path:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "uint8",
        "nodata": 255,
        "crs": CRS.from_string(crs),
        "transform": transform,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_rasters_window_by_window_with_nodata(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pred = rng.integers(0, 3, (50, 70)).astype(np.uint8)
    ref = rng.integers(0, 3, (50, 70)).astype(np.uint8)
    pred[:5] = 255
    ref[:, :3] = 255
    t = Affine(10, 0, 500000, 0, -10, 5000000)
    p, r = _write(tmp_path / "p.tif", pred, t), _write(tmp_path / "r.tif", ref, t)
    whole = confusion(pred, ref, 3)
    np.testing.assert_array_equal(confusion_rasters(p, r, 3, block=16), whole)
    assert whole.sum() == (pred != 255).sum() - (ref[5:, :3] == 255).sum()


def test_reference_on_another_grid_is_reprojected_nearest(tmp_path: Path) -> None:
    pred = np.zeros((20, 20), np.uint8)
    pred[:, 10:] = 1
    t = Affine(10, 0, 500000, 0, -10, 5000000)
    # reference at 20 m, same halves: every 10 m pixel falls in a matching 20 m pixel
    ref = np.zeros((10, 10), np.uint8)
    ref[:, 5:] = 1
    p = _write(tmp_path / "p.tif", pred, t)
    r = _write(tmp_path / "r.tif", ref, Affine(20, 0, 500000, 0, -20, 5000000))
    np.testing.assert_array_equal(confusion_rasters(p, r, 2), [[200, 0], [0, 200]])


def test_mapping_json_and_png(tmp_path: Path) -> None:
    pred = np.array([[0, 1, 2, 3]], np.uint8).repeat(4, axis=0)
    ref = np.array([[8, 1, 1, 255]], np.uint8).repeat(4, axis=0)
    t = Affine(10, 0, 500000, 0, -10, 5000000)
    p, r = _write(tmp_path / "p.tif", pred, t), _write(tmp_path / "r.tif", ref, t)
    spec = {
        "classes": ["artificial", "forest"],
        "reference": {"8": 0, "1": 1},
        "prediction": {"0": 0, "1": 1},
    }
    (tmp_path / "map.json").write_text(json.dumps(spec))
    mapping = load_mapping(tmp_path / "map.json")
    assert isinstance(mapping, ClassMapping)
    res = evaluate(
        p, r, mapping=mapping, json_path=tmp_path / "m.json", png_path=tmp_path / "m.png"
    )
    m = res.metrics
    # prediction 2 is unmapped -> "other"; reference 255 ignored
    assert m["class_names"] == ["artificial", "forest", "other"]
    assert m["confusion_matrix"] == [[4, 0, 0], [0, 4, 4], [0, 0, 0]]
    assert json.loads((tmp_path / "m.json").read_text())["overall_accuracy"] == pytest.approx(2 / 3)
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        evaluate(tmp_path / "a.tif", tmp_path / "b.tif")
    (tmp_path / "map.json").write_text('{"classes": ["a"], "reference": {"1": 5}}')
    with pytest.raises(InputError, match="out of range"):
        load_mapping(tmp_path / "map.json")


def test_scene_folders_and_cli(tmp_path: Path) -> None:
    """DW labels of the Slovenia crop against its land-use reference, as in its SOURCE.md."""
    from typer.testing import CliRunner

    from geoseg.cli.app import app

    crop = DATA / "test" / "eolearn_slovenia_20150711"
    mapping = REPO / "configs" / "slovenia_lulc_mapping.json"
    args = ["evaluate", "--scenes", str(crop), "--prediction-name", "label.tif"]
    args += ["--reference-name", "reference_lulc.tif", "--mapping", str(mapping)]
    args += ["--json", str(tmp_path / "m.json")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["pixels"] == 9945
    assert m["overall_accuracy"] == pytest.approx(0.822, abs=5e-4)  # SOURCE.md: 82.2 %
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "missing.tif")])
    assert res.exit_code == 2


@pytest.mark.slow
def test_a_model_over_scene_folders_with_and_without_tta(bundle_dir: Path, tmp_path: Path) -> None:
    """``--tta`` reaches the classify path: the figures may move, and the JSON says which."""
    from typer.testing import CliRunner

    from geoseg.cli.app import app
    from tests.conftest import NORCIA_LABELLED

    runs = {}
    for flag in ([], ["--tta"]):
        out = tmp_path / f"m{len(flag)}.json"
        args = ["evaluate", "--scenes", str(NORCIA_LABELLED), "--model", str(bundle_dir)]
        res = CliRunner().invoke(app, [*args, *flag, "--json", str(out)])
        assert res.exit_code == 0, res.output
        runs[bool(flag)] = json.loads(out.read_text())
    assert [runs[k]["model"]["tta"] for k in (False, True)] == [False, True]
    assert runs[False]["pixels"] == runs[True]["pixels"] > 0
