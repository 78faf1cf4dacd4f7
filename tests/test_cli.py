"""The command line: summary on success; one line, exit 2 and no outputs for every bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from geoseg.cli import app
from geoseg.models.bundle import SPEC_FILE, WEIGHTS_FILE
from tests.conftest import NORCIA, make_bundle, write_stack

runner = CliRunner()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_classify_prints_outputs_and_the_area_table(bundle_dir: Path, tmp_path: Path) -> None:
    res = _run(
        "classify",
        str(NORCIA),
        "-o",
        str(tmp_path),
        "--model",
        str(bundle_dir),
        "--min-area",
        "0.1",
    )
    assert res.exit_code == 0, res.output
    assert "Class areas" in res.stdout and "flooded_vegetation" in res.stdout
    assert str(tmp_path / "oscd_norcia_20171018_classes.tif") in res.stdout
    assert res.stderr == ""  # no terminal, no progress bar


def test_help_shows_examples() -> None:
    res = _run("classify", "--help")
    assert res.exit_code == 0 and "Examples" in res.stdout and "--min-area" in res.stdout


def test_info_on_scene_and_bundle(bundle_dir: Path) -> None:
    res = _run("info", str(NORCIA))
    assert res.exit_code == 0 and "B8A" in res.stdout and "EPSG:32633" in res.stdout
    res = _run("info", str(bundle_dir))
    assert res.exit_code == 0 and "unet_aspp" in res.stdout and "snow_and_ice" in res.stdout


def _corrupt_bundle(tmp: Path) -> Path:
    path = tmp / "corrupt"
    make_bundle(path)
    weights = path / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-100])
    return path


def _mismatched_bundle(tmp: Path) -> Path:
    path = tmp / "mismatch"
    make_bundle(path)
    make_bundle(tmp / "other", encoder="resnet34")
    (path / WEIGHTS_FILE).write_bytes((tmp / "other" / WEIGHTS_FILE).read_bytes())
    spec = json.loads((path / SPEC_FILE).read_text())
    spec["weights_sha256"] = ""
    (path / SPEC_FILE).write_text(json.dumps(spec))
    return path


def _not_a_raster(tmp: Path) -> Path:
    (tmp / "scene.tif").write_text("hello")
    return tmp / "scene.tif"


def _truncated(tmp: Path) -> Path:
    full = write_stack(NORCIA, tmp / "full.tif")
    data = full.read_bytes()
    (tmp / "cut.tif").write_bytes(data[: len(data) * 2 // 3])
    return tmp / "cut.tif"


def _all_nodata(tmp: Path) -> Path:
    path = write_stack(NORCIA, tmp / "empty.tif")
    with rasterio.open(path, "r+") as ds:
        ds.write(np.zeros((ds.count, ds.height, ds.width), dtype=np.uint16))
    return path


BAD_SCENES = {
    "missing path": (lambda tmp: tmp / "nope.tif", "scene not found"),
    "not a raster": (_not_a_raster, "not a readable raster"),
    "truncated tiff": (_truncated, "truncated or corrupt|not a readable raster"),
    "no crs": (lambda tmp: write_stack(NORCIA, tmp / "nocrs.tif", crs=False), "no CRS"),
    "missing bands": (
        lambda tmp: write_stack(NORCIA, tmp / "rgb.tif", ["B02", "B03", "B04"]),
        "lacks band",
    ),
    "all nodata": (_all_nodata, "no valid pixels"),
}


@pytest.mark.parametrize("case", list(BAD_SCENES))
def test_bad_scene(case: str, bundle_dir: Path, tmp_path: Path) -> None:
    make, message = BAD_SCENES[case]
    scene = make(tmp_path)
    out = tmp_path / "out"
    res = _run("classify", str(scene), "-o", str(out), "--model", str(bundle_dir))
    _assert_clean_failure(res, message, out)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_corrupt_bundle, "does not match the hash"),
        (_mismatched_bundle, "do not fit the architecture"),
        (lambda tmp: tmp, "not a model bundle"),
    ],
    ids=["corrupt bundle", "mismatched bundle", "not a bundle"],
)
def test_bad_bundle(make, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    res = _run("classify", str(NORCIA), "-o", str(out), "--model", str(make(tmp_path)))
    _assert_clean_failure(res, message, out)


def test_unwritable_output_dir(bundle_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    res = _run("classify", str(NORCIA), "-o", str(blocker / "out"), "--model", str(bundle_dir))
    _assert_clean_failure(res, "cannot write to the output folder", blocker / "out")


def test_bad_band_mapping_and_index(bundle_dir: Path, tmp_path: Path) -> None:
    res = _run(
        "classify",
        str(NORCIA),
        "-o",
        str(tmp_path / "o"),
        "--bands",
        "B02",
        "--model",
        str(bundle_dir),
    )
    _assert_clean_failure(res, "cannot parse band mapping", tmp_path / "o")
    res = _run(
        "classify",
        str(NORCIA),
        "-o",
        str(tmp_path / "o"),
        "--indices",
        "FOO",
        "--model",
        str(bundle_dir),
    )
    _assert_clean_failure(res, "unknown spectral index", tmp_path / "o")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    res = runner.invoke(app, ["--debug", "classify", str(tmp_path / "nope.tif")])
    assert res.exit_code != 0 and res.exception is not None


def _assert_clean_failure(res, message: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    import re

    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("geoseg: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in res.output
    assert not out.exists() or list(out.iterdir()) == []


def test_bad_engine_options(bundle_dir: Path, tmp_path: Path) -> None:
    base = ["classify", str(NORCIA), "-o", str(tmp_path / "o"), "--model", str(bundle_dir)]
    _assert_clean_failure(_run(*base, "--engine", "spark"), "unknown engine", tmp_path / "o")
    _assert_clean_failure(_run(*base, "--engine", "dask"), "needs a scheduler", tmp_path / "o")


@pytest.mark.slow
def test_unreachable_scheduler(bundle_dir: Path, tmp_path: Path) -> None:
    res = _run(
        "classify",
        str(NORCIA),
        "-o",
        str(tmp_path / "o"),
        "--model",
        str(bundle_dir),
        "--dask-address",
        "tcp://127.0.0.1:9",
    )
    _assert_clean_failure(res, "cannot reach the Dask scheduler", tmp_path / "o")
