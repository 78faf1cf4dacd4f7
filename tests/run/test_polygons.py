"""The vectorize stage: polygons, their measures and the GeoPackage's default style."""

from pathlib import Path

import numpy as np
import pyogrio
import pytest

import geoseg
from geoseg.run import classify as run
from geoseg.run.options import Options
from tests.conftest import NORCIA

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


def test_minimum_mapping_unit_sieves_small_regions(bundle_dir: Path, tmp_path: Path) -> None:
    seg = run.segment(NORCIA, tmp_path, model=bundle_dir, options=Options(confidence=False))
    coarse = run.vectorize(seg, Options(min_area_ha=1))
    polys = pyogrio.read_dataframe(coarse.path, layer="landcover")
    assert polys.pixels.min() >= 100  # 1 ha of 10 m pixels
    assert sum(coarse.polygons_per_class) == len(polys)
