"""One real classify run of the demo crop, shared by the stage tests (segment, polygons,
summarize) that check its outputs."""

from pathlib import Path

import pytest

import geoseg
from geoseg.run.identity import ClassArea, ModelRef, ResultOptions, RunSummary
from geoseg.run.options import Options
from tests.conftest import NORCIA


@pytest.fixture(scope="module")
def norcia_run(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> geoseg.ClassifyResult:
    out = tmp_path_factory.mktemp("run")
    return geoseg.classify(NORCIA, out, model=bundle_dir, options=Options(indices=("NDVI",)))


def summary(**update: object) -> RunSummary:
    """A small valid stats-JSON summary (one class, no polygons), fields replaced by ``update``."""
    opts = ResultOptions(
        tile_size=256, overlap=32, indices=[], confidence=True, vectorize=False,
        min_area_ha=0.05, simplify_m=0.0, stac=True,
    )  # fmt: skip
    water = ClassArea(
        class_id=0, class_name="water", color="#419bdf", pixels=2, area_m2=200.0, area_ha=0.02,
        share_pct=100.0,
    )  # fmt: skip
    base = RunSummary(
        geoseg_version="0", source="/s", source_id="id", scene={"kind": "geotiff"},
        model=ModelRef(name="m", sha256="sha"), options=opts, crs="EPSG:32633", width=2,
        height=1, tile_size=256, overlap=32, valid_pixels=2, nodata_pixels=0, masked_pixels=0,
        masked_pct=0.0, masks=[], classes=[water],
    )  # fmt: skip
    return base.model_copy(update=update)
