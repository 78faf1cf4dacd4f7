"""The cloud detector's input (geoseg.io.cloud_input): a decimating read where a file's pixels
tile the 30 m cells, equal to the warper's average it replaces, edges and nodata included."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import Window

from geoseg.io import cloud_input, clouds
from geoseg.io.grid import Grid, on_grid


@pytest.mark.parametrize("x0", [300_000.0, 300_010.0, 300_020.0])  # cells cut at 0, 1, 2 px
def test_the_decimated_read_equals_the_warper(tmp_path: Path, x0: float) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(1, 5000, size=(2, 77, 100), dtype=np.uint16)
    data[:, 10:14, 20:31] = 0  # nodata inside, cutting cells in part
    data[:, :, :5] = 0  # and along an edge
    path = tmp_path / "s.tif"
    transform = Affine(10, 0, x0, 0, -10, 5_000_020.0)
    profile = dict(driver="GTiff", width=100, height=77, count=2, dtype="uint16", nodata=0)
    with rasterio.open(path, "w", crs="EPSG:32633", transform=transform, **profile) as ds:
        ds.write(data)
    with rasterio.open(path) as ds:
        grid = Grid(ds.crs, ds.transform, ds.width, ds.height)
        coarse = clouds.detector_grid(grid)[0]
        handles: dict[str, object] = {}
        view = cloud_input._view(handles, str(path), coarse, 0.0)
        assert isinstance(view, cloud_input._Decimated)
        warped = on_grid(ds, coarse, Resampling.average, src_nodata=0.0)
        try:
            for win in (
                Window(0, 0, coarse.width, coarse.height),  # every edge
                Window(2, 3, 10, 9),  # inside only
                Window(0, 20, coarse.width, coarse.height - 20),  # the bottom edge
            ):
                expected = warped.read([1, 2], window=win)
                np.testing.assert_array_equal(view.read([1, 2], window=win), expected)
        finally:
            warped.close()
            handles[str(path) + "#vrt"].close()  # type: ignore[attr-defined]
            handles[str(path) + "#src"].close()  # type: ignore[attr-defined]


def test_files_off_the_cells_go_through_the_warper(tmp_path: Path) -> None:
    path = tmp_path / "s20.tif"
    profile = dict(driver="GTiff", width=30, height=30, count=1, dtype="uint16", nodata=0)
    transform = Affine(20, 0, 300_000.0, 0, -20, 5_000_040.0)  # 20 m: 1.5 pixels a cell
    with rasterio.open(path, "w", crs="EPSG:32633", transform=transform, **profile) as ds:
        ds.write(np.ones((1, 30, 30), dtype=np.uint16))
    with rasterio.open(path) as ds:
        grid = Grid(ds.crs, Affine(10, 0, 300_000.0, 0, -10, 5_000_040.0), 60, 60)
        coarse = clouds.detector_grid(grid)[0]
        warped = on_grid(ds, coarse, Resampling.average, src_nodata=0.0)
        assert cloud_input._Decimated.over(ds, warped, coarse, 0.0) is None
        warped.close()
