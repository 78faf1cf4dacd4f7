"""Change codes and transition areas: the pure array part of ``geoseg change``."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from geoseg.classes import NODATA, ClassInfo
from geoseg.core import change as core
from geoseg.core.areas import row_areas_m2
from geoseg.io.grid import Grid


def test_codes_read_as_from_times_n_plus_to() -> None:
    before = np.array([[0, 1], [2, 2]])
    after = np.array([[1, 1], [0, 2]])
    valid = np.array([[True, True], [True, False]])
    codes = core.encode(before, after, valid, 3)
    assert codes.dtype == np.uint8
    assert codes.tolist() == [[1, 4], [6, NODATA]]
    source = core.polygon_source(codes, 3)
    assert source.tolist() == [[NODATA + 2, NODATA], [NODATA + 7, NODATA]]  # changed pixels only
    frm, to = core.decode(source[source != NODATA], 3)
    assert frm.tolist() == [0, 2] and to.tolist() == [1, 0]


def test_many_classes_take_uint16() -> None:
    assert core.code_type(15) == ("uint8", NODATA)
    assert core.code_type(16) == ("uint16", 65535)
    codes = core.encode(np.array([15]), np.array([15]), np.array([True]), 16)
    assert codes.dtype == np.uint16 and codes[0] == 255  # a class, not nodata, at 16 classes
    assert core.polygon_source(codes, 16)[0] == NODATA  # unchanged


def test_legend_names_and_colours() -> None:
    classes = [
        ClassInfo(id=0, name="trees", color="#00ff00"),
        ClassInfo(id=1, name="crops", color="#ffaa00"),
    ]
    legend = core.change_legend(classes)
    assert [c.name for c in legend] == [
        "trees (unchanged)",
        "trees → crops",
        "crops → trees",
        "crops (unchanged)",
    ]
    assert [c.color for c in legend] == [
        core.UNCHANGED_COLOR,
        "#ffaa00",
        "#00ff00",
        core.UNCHANGED_COLOR,
    ]
    cmap = core.colormap(legend, NODATA)
    assert cmap[1] == (255, 170, 0, 255) and cmap[NODATA] == (0, 0, 0, 0)


def test_counter_projected_and_geographic() -> None:
    codes = np.array([[0, 1, NODATA], [3, 3, 1]], dtype=np.uint8)
    utm = Grid(CRS.from_epsg(32633), Affine(10, 0, 0, 0, -10, 0), 3, 2)
    counter = core.TransitionCounter(utm, 2)
    counter.add(Window(0, 0, 3, 2), codes)
    assert counter.pixels.tolist() == [[1, 2], [0, 2]]
    matrix = counter.matrix_ha(["a", "b"])
    assert matrix.loc["a", "b"] == pytest.approx(0.02)  # 2 px of 100 m²
    geo = Grid(CRS.from_epsg(4326), Affine(0.001, 0, 10, 0, -0.001, 60), 3, 2)
    gcount = core.TransitionCounter(geo, 2)
    gcount.add(Window(0, 0, 3, 2), codes)
    assert gcount.pixels.tolist() == counter.pixels.tolist()
    areas = gcount.areas_m2()
    row = row_areas_m2(geo, range(2))  # per-row geodesic pixel areas, ~111 m x ~56 m at 60° N
    assert 6000 < row[0] < 6500
    assert areas[0, 0] == pytest.approx(row[0])
    assert areas.sum() == pytest.approx(2 * row[0] + 3 * row[1])
