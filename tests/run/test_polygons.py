"""The vectorize stage: polygons, their measures and the GeoPackage's default style."""

from pathlib import Path

import numpy as np
import pyogrio
import pytest

import geoseg
from geoseg.run import classify as run
from geoseg.run.options import Options
from tests.conftest import NORCIA
from tests.io.test_gpkg import GPKG_ID, V1_2, version

pytestmark = pytest.mark.slow


def test_geopackage_layers_style_and_polygon_areas(norcia_run: geoseg.ClassifyResult) -> None:
    gpkg = norcia_run.polygons
    assert gpkg is not None
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"landcover", "class_stats", "layer_styles"} <= layers
    polys = pyogrio.read_dataframe(gpkg, layer="landcover")
    assert set(polys.columns) >= {
        "class_id",
        "class_name",
        "area_m2",
        "area_ha",
        "perimeter_m",
        "confidence",
    }
    assert polys.geometry.is_valid.all()
    assert polys.area_m2.sum() == pytest.approx(norcia_run.valid_pixels * 100.0)
    np.testing.assert_allclose(polys.area_m2, polys.geometry.area)
    per_class = polys.groupby("class_id").size()
    stats = norcia_run.stats.set_index("class_id")
    assert (stats.loc[per_class.index, "polygons"] == per_class).all()
    style = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert style.f_table_name[0] == "landcover" and bool(style.useAsDefault[0])
    assert "categorizedSymbol" in style.styleQML[0]
    assert version(gpkg) == (GPKG_ID, V1_2)  # QGIS 3.22 LTR opens 1.2 without a warning


def test_minimum_mapping_unit_sieves_small_regions(bundle_dir: Path, tmp_path: Path) -> None:
    seg = run.segment(NORCIA, tmp_path, model=bundle_dir, options=Options(confidence=False))
    coarse = run.vectorize(seg, Options(min_area_ha=1))
    polys = pyogrio.read_dataframe(coarse.path, layer="landcover")
    assert polys.pixels.min() >= 100  # 1 ha of 10 m pixels
    assert sum(coarse.polygons_per_class) == len(polys)


def test_polygons_traced_beside_the_cogs_equal_those_of_the_finished_raster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """classify traces the staged raster while its COGs are written: the same polygons, in the
    same order, as vectorize of the finished COG (strips of 37 rows: 9 strips)."""
    from geoseg.run import polygons

    monkeypatch.setattr(polygons, "polygon_strip_rows", lambda width: 37)
    res = geoseg.classify(NORCIA, tmp_path / "classify")  # the shipped model: a real map
    seg = run.segment(NORCIA, tmp_path / "stages")
    expected = pyogrio.read_dataframe(run.vectorize(seg).path, layer="landcover")
    assert res.polygons is not None
    got = pyogrio.read_dataframe(res.polygons, layer="landcover")
    assert len(expected) > 50
    assert got.drop(columns="geometry").equals(expected.drop(columns="geometry"))
    assert got.geometry.geom_equals_exact(expected.geometry, 0).all()
    assert {"vectorize_s", "vectorize_wait_s"} <= set(res.timings)


@pytest.mark.timeout(300)
def test_polygon_thread_stops_when_writing_the_rasters_fails(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from geoseg.io import cog

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cog.StagedRaster, "to_cog", boom)  # while the polygons are traced
    with pytest.raises(OSError, match="disk full"):
        geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(resume=False))
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("geoseg-polygons")]
