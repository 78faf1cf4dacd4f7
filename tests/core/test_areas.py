import numpy as np
import pytest
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from geoseg.core.areas import AreaAccumulator, pixel_area_m2, polygon_measures, row_areas_m2
from geoseg.io.grid import Grid
from geoseg.models.bundle import ClassInfo
from tests.conftest import DW_CLASSES

CLASSES = [ClassInfo(id=i, name=n, color=c) for i, (n, c) in enumerate(DW_CLASSES)]
UTM = Grid(CRS.from_epsg(32632), Affine(10, 0, 500000, 0, -10, 4800000), 4, 3)
GEO = Grid(CRS.from_epsg(4326), Affine(0.001, 0, 10.0, 0, -0.001, 45.0), 4, 3)


def test_projected_pixel_area_in_metres_even_for_feet() -> None:
    assert pixel_area_m2(UTM) == 100.0
    feet = Grid(CRS.from_epsg(2263), Affine(10, 0, 0, 0, -10, 0), 1, 1)  # NY Long Island, US ft
    assert pixel_area_m2(feet) == pytest.approx(100 * 0.3048006096**2)
    assert pixel_area_m2(GEO) is None


def test_geographic_rows_use_the_ellipsoid() -> None:
    areas = row_areas_m2(GEO, range(3))
    # 0.001° x 0.001° at 45°N ≈ 78.8 m x 111.1 m
    assert areas[0] == pytest.approx(78.85 * 111.13, rel=2e-3)
    assert areas[0] < areas[2]  # further south, larger


def test_class_areas_sum_exactly_to_valid_pixels_times_pixel_area() -> None:
    acc = AreaAccumulator(UTM, 9)
    acc.add(Window(0, 0, 4, 2), np.array([[0, 1, 1, 255], [6, 6, 6, 255]], dtype=np.uint8))
    acc.add(Window(0, 2, 4, 1), np.array([[6, 255, 8, 8]], dtype=np.uint8))
    table = acc.table(CLASSES, polygons=[1] * 9)
    assert table.pixels.tolist() == [1, 2, 0, 0, 0, 0, 4, 0, 2]
    assert table.area_m2.sum() == acc.valid_pixels * 100.0 == 900.0
    assert table.share_pct.sum() == pytest.approx(100.0, abs=0.05)  # each rounded to 0.01 %
    assert table.loc[6, "area_ha"] == 0.04


def test_geographic_class_areas_follow_the_rows() -> None:
    acc = AreaAccumulator(GEO, 9)
    acc.add(Window(0, 0, 4, 3), np.array([[0] * 4, [1] * 4, [255] * 4], dtype=np.uint8))
    rows = row_areas_m2(GEO, range(3))
    table = acc.table(CLASSES)
    assert table.area_m2[0] == pytest.approx(4 * rows[0])
    assert table.area_m2[1] == pytest.approx(4 * rows[1])


def test_table_is_rounded_to_its_documented_precision() -> None:
    """Geodesic sums and thirds carry float noise; the table holds m² to 0.01, ha to 1e-4 (a
    square metre) and shares to 0.01 %, pixel counts as integers."""
    acc = AreaAccumulator(GEO, 9)
    acc.add(Window(0, 0, 4, 3), np.array([[0] * 4, [1] * 4, [2] * 4], dtype=np.uint8))
    table = acc.table(CLASSES)
    assert table.share_pct[:3].tolist() == [33.33] * 3
    for column, decimals in (("area_m2", 2), ("area_ha", 4)):
        assert (table[column] == table[column].round(decimals)).all(), table[column]
    assert table.area_ha[0] == round(4 * row_areas_m2(GEO, range(1))[0] / 1e4, 4)
    assert table.pixels.dtype == np.int64


def test_polygon_measures() -> None:
    square = shapely.box(500000, 4800000, 500100, 4800050)
    area, perim = polygon_measures(np.array([square]), UTM)
    assert (area[0], perim[0]) == (5000.0, 300.0)
    geo_box = shapely.box(10.0, 44.999, 10.001, 45.0)
    area, _ = polygon_measures(np.array([geo_box]), GEO)
    assert area[0] == pytest.approx(row_areas_m2(GEO, range(1))[0], rel=1e-6)
