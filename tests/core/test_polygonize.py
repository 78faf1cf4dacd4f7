from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from geoseg.core.polygonize import label_regions, polygonize, sieve_pixels

TRANSFORM = Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 4800000.0)


def _write(path: Path, data: np.ndarray, transform: Affine = TRANSFORM) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype="uint8",
        nodata=255,
        crs="EPSG:32632",
        transform=transform,
    ) as dst:
        dst.write(data, 1)
    return path


def _polygons(
    path: Path, conf: Path | None = None, **kw: object
) -> list[tuple[int, shapely.Geometry, int, float]]:
    out = []
    for batch in polygonize(path, conf, **kw):  # type: ignore[arg-type]
        for c, g, n, m in zip(
            batch.class_id, batch.geometry, batch.pixels, batch.confidence, strict=True
        ):
            out.append((int(c), shapely.normalize(g), int(n), float(m)))
    return sorted(out, key=lambda t: (t[0], t[1].bounds))


@pytest.fixture
def u_shape(tmp_path: Path) -> Path:
    data = np.zeros((30, 20), dtype=np.uint8)
    data[2:28, 3:6] = 1  # left arm, crossing every strip border
    data[2:28, 12:15] = 1  # right arm
    data[25:28, 3:15] = 1  # joined at the bottom: one region, two arms
    data[10:12, 8:10] = 2  # an island
    data[0, :] = 255  # nodata
    return _write(tmp_path / "u.tif", data)


def test_regions_crossing_strip_borders_come_out_whole(u_shape: Path) -> None:
    whole = _polygons(u_shape, strip_rows=1000)
    strips = _polygons(u_shape, strip_rows=4)
    assert len(strips) == len(whole) == 3
    for (c1, g1, n1, _), (c2, g2, n2, _) in zip(whole, strips, strict=True):
        assert (c1, n1) == (c2, n2)
        assert g1.equals(g2)
    u = next(p for p in strips if p[0] == 1)
    assert u[1].geom_type == "Polygon" and u[2] == 3 * 26 * 2 + 3 * 6
    assert u[1].area == pytest.approx(u[2] * 100.0)


def test_geometries_are_in_the_raster_crs(u_shape: Path) -> None:
    island = next(p for p in _polygons(u_shape) if p[0] == 2)[1]
    assert island.bounds == (500080.0, 4799880.0, 500100.0, 4799900.0)


def test_sieve_removes_regions_below_the_mapping_unit(u_shape: Path) -> None:
    kept = _polygons(u_shape, min_pixels=5, strip_rows=4)
    assert {p[0] for p in kept} == {0, 1}  # the 4-pixel island merged into its surroundings
    assert sum(p[2] for p in kept) == 29 * 20  # no pixel lost, nodata row untouched


def test_mean_confidence_per_polygon(tmp_path: Path, u_shape: Path) -> None:
    conf = np.full((30, 20), 80, dtype=np.uint8)
    conf[10:12, 8:10] = [[50, 60], [70, 80]]
    conf[0, :] = 255
    conf_path = _write(tmp_path / "conf.tif", conf)
    island = next(p for p in _polygons(u_shape, conf_path, strip_rows=4) if p[0] == 2)
    assert island[3] == pytest.approx(65.0)


def test_label_regions_uses_four_connectivity() -> None:
    data = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    labels = label_regions(data)
    assert len(np.unique(labels)) == 4  # diagonal pixels are separate regions


def test_label_regions_number_class_by_class_in_scan_order() -> None:
    """The numbering sets the polygons' order, and coverage simplification depends on it."""
    data = np.array([[2, 1, 2], [1, 255, 1], [2, 1, 2]], dtype=np.uint8)
    labels = label_regions(data)
    expected = [[5, 1, 6], [2, 0, 3], [7, 4, 8]]  # class 1's four regions, then class 2's
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.int32


def test_sieve_pixels() -> None:
    assert sieve_pixels(0, 100) == 1
    assert sieve_pixels(500, 100) == 5
    assert sieve_pixels(501, 100) == 6


def test_simplification_keeps_shared_borders(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:60, 0:60]
    data = ((np.sin(xx / 6.0) * 8 + 30 + rng.integers(0, 2, (60, 60))) < yy).astype(np.uint8)
    path = _write(tmp_path / "wavy.tif", data)
    raw = _polygons(path)
    simple = _polygons(path, simplify_px=1.5)
    assert len(raw) == len(simple)
    vertices = sum(shapely.get_num_coordinates(p[1]) for p in raw)
    assert sum(shapely.get_num_coordinates(p[1]) for p in simple) < 0.7 * vertices
    union = shapely.union_all([p[1] for p in simple])
    assert union.area == pytest.approx(60 * 60 * 100.0)  # no gaps, no overlaps
    assert shapely.area(shapely.intersection(simple[0][1], simple[1][1])) == pytest.approx(0)


@pytest.fixture(scope="module")
def real_map(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path) -> tuple[Path, Path]:
    """A real class map: the Beirut crop through a random model with small tiles (ragged)."""
    import geoseg
    from tests.conftest import BEIRUT

    res = geoseg.classify(
        BEIRUT,
        tmp_path_factory.mktemp("map"),
        model=bundle_dir,
        options=geoseg.Options(tile_size=64, overlap=16, vectorize=False, engine="inprocess"),
    )
    assert res.confidence is not None
    return res.classes, res.confidence


@pytest.mark.slow
@pytest.mark.parametrize("min_pixels", [1, 8])
def test_strips_in_parallel_equal_the_whole_raster_on_a_real_map(
    real_map: tuple[Path, Path], min_pixels: int
) -> None:
    from concurrent.futures import ProcessPoolExecutor

    classes, confidence = real_map
    whole = _polygons(classes, confidence, min_pixels=min_pixels, strip_rows=100_000)
    with ProcessPoolExecutor(2) as pool:
        parts = [
            (int(c), shapely.normalize(g), int(n), float(m))
            for b in polygonize(classes, confidence, min_pixels, strip_rows=97, submit=pool.submit)
            for c, g, n, m in zip(b.class_id, b.geometry, b.pixels, b.confidence, strict=True)
        ]
    parts.sort(key=lambda t: (t[0], t[1].bounds))
    assert len(whole) > 40 and len(parts) == len(whole)
    for a, b in zip(whole, parts, strict=True):
        assert a[0] == b[0] and a[2] == b[2] and a[1].equals(b[1])
        assert a[3] == pytest.approx(b[3])
