"""geoseg rasters as xarray DataArrays: named layers keep their ``band`` dimension, and a
DataArray given to ``classify`` is traced back to the file it was read from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray
from rasterio.transform import from_origin

from geoseg.errors import InputError
from geoseg.io.xr import file_of, open_raster
from geoseg.run.results import ClassifyResult
from tests.conftest import BANDS, NORCIA, write_stack


def _index_raster(path: Path, names: list[str]) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", width=3, height=2, count=len(names), dtype="float32",
        crs="EPSG:32631", transform=from_origin(600_000, 5_600_000, 10, 10), nodata=float("nan"),
    ) as ds:  # fmt: skip
        for i, name in enumerate(names, start=1):
            ds.write(np.full((2, 3), 0.1 * i, np.float32), i)
            ds.set_band_description(i, name)
    return path


def test_one_index_keeps_the_band_dimension(tmp_path: Path) -> None:
    """``result.open_indices().sel(band="NDVI")`` as in the README, with one index too."""
    one = _index_raster(tmp_path / "s_indices.tif", ["NDVI"])
    result = ClassifyResult(
        out_dir=tmp_path, classes=one, confidence=None, polygons=None, stats_csv=one,
        stats_json=one, style=one, indices=one, stats=None, valid_pixels=0, total_pixels=0,  # type: ignore[arg-type]
    )  # fmt: skip
    ndvi = result.open_indices().sel(band="NDVI")
    assert ndvi.dims == ("y", "x") and float(ndvi.mean()) == pytest.approx(0.1)
    two = open_raster(_index_raster(tmp_path / "two.tif", ["NDVI", "NDWI"]), keep_band=True)
    assert list(two.band.values) == ["NDVI", "NDWI"]
    assert open_raster(one).dims == ("y", "x")  # single-band rasters (classes) as before


def test_a_dataarray_is_its_file(tmp_path: Path) -> None:
    stack = write_stack(NORCIA, tmp_path / "stack.tif")
    assert file_of(rioxarray.open_rasterio(stack)) == (stack, None)
    assert file_of(rioxarray.open_rasterio(stack, masked=True))[0] == stack
    bare = write_stack(NORCIA, tmp_path / "bare.tif", descriptions=False)
    named = rioxarray.open_rasterio(bare).assign_coords(band=BANDS)  # type: ignore[union-attr]
    assert file_of(named) == (bare, {b: (None, i) for i, b in enumerate(BANDS, start=1)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda da: da * 2, "not read from a file \\(or computed since\\)"),
        (lambda da: da.isel(x=slice(0, 100)), "cut, reordered or reprojected since"),
        (lambda da: da.isel(band=[1, 0, *range(2, 10)]), "cut, reordered or reprojected"),
    ],
)
def test_a_computed_dataarray_is_refused_saying_what_to_do(
    change: object, message: str, tmp_path: Path
) -> None:
    da = rioxarray.open_rasterio(write_stack(NORCIA, tmp_path / "stack.tif"))
    with pytest.raises(InputError, match=message) as caught:
        file_of(change(da))  # type: ignore[operator]
    assert "da.rio.to_raster('scene.tif')" in str(caught.value)
