"""``geoseg quicklook``: the PNG of a finished run, from its folder or its class raster."""

from pathlib import Path

import pytest

import geoseg
from geoseg.run.options import Options
from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA

pytestmark = pytest.mark.slow


def test_quicklook_of_a_run_folder(bundle_dir: Path, tmp_path: Path) -> None:
    opts = Options(vectorize=False, stac=False, confidence=False)
    run = geoseg.classify(NORCIA, tmp_path / "out", model=bundle_dir, options=opts)
    res = invoke("quicklook", str(run.out_dir))
    assert res.exit_code == 0, res.output
    png = run.out_dir / "norcia_20171018_quicklook.png"
    assert png.stat().st_size > 10_000 and str(png) in res.stdout.replace("\n", "")
    res = invoke("quicklook", str(run.classes), "-o", str(tmp_path / "look.png"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "look.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quicklook_of_a_folder_without_a_run(tmp_path: Path) -> None:
    assert_clean_failure(invoke("quicklook", str(tmp_path)), "no class raster")
