"""Masks read per window: SCL classes (20 m → 10 m by nearest) and user rasters (--mask: nonzero
masked out; --keep: nonzero kept)."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from geoseg.errors import InputError
from geoseg.io.masks import parse_classes
from geoseg.io.read_options import ReadOptions
from geoseg.io.reader import open_scene, with_masks
from tests.conftest import NORCIA
from tests.io.products import SCL_MASKED_10M, write_band


def _mask(scene) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = scene.read_mask(Window(0, 0, scene.grid.width, scene.grid.height))
    assert out is not None
    return out


def test_scl_default_classes_mask_clouds_shadows_and_cirrus(l2a_safe: Path) -> None:
    masked = _mask(open_scene(l2a_safe))
    assert masked.sum() == SCL_MASKED_10M  # 4 x (20x30 cloud + 10x20 shadow + 10x10 cirrus)
    assert masked[80:120, 80:140].all()  # the cloud block, 20 m rows 40:60 cols 40:70
    assert not masked[79, 80:140].any() and not masked[120, 80:140].any()
    assert not masked[40:60, 200:220].any()  # snow (11) is not masked by default


def test_scl_records_cloud_and_shadow_apart(l2a_safe: Path) -> None:
    from tests.io.products import SCL_BLOCKS

    scene = open_scene(l2a_safe)
    (scl,) = scene.masks
    with rasterio.open(scl.path) as ds:
        with_data = int((ds.read(1) != 0).sum())  # 20 m pixels
    sizes = {cls: (r.stop - r.start) * (c.stop - c.start) for cls, r, c in SCL_BLOCKS}
    record = scene.cloud_record()
    assert record["method"] == "scl"
    cloud = 100 * (sizes[9] + sizes[10]) / with_data  # high probability and thin cirrus
    assert record["cloud_pct"] == pytest.approx(cloud, abs=0.01)
    assert record["shadow_pct"] == pytest.approx(100 * sizes[3] / with_data, abs=0.01)
    only_shadow = open_scene(l2a_safe, scl_classes="3").cloud_record()  # clouds left unmasked
    assert only_shadow["cloud_pct"] == 0 and float(only_shadow["shadow_pct"]) > 0


def test_scl_classes_are_configurable(l2a_safe: Path) -> None:
    masked = _mask(open_scene(l2a_safe, scl_classes="11"))
    assert masked.sum() == 4 * 10 * 10 and masked[40:60, 200:220].all()
    assert open_scene(l2a_safe, cloud_mask=False).read_mask(Window(0, 0, 9, 9)) is None


def test_mask_windows_agree_with_the_full_read(l2a_safe: Path) -> None:
    scene = open_scene(l2a_safe)
    full = _mask(scene)
    win = Window(75, 77, 70, 50)  # odd offsets: 10 m window starting inside a 20 m pixel
    part = scene.read_mask(win)
    np.testing.assert_array_equal(part, full[77:127, 75:145])


def test_user_mask_at_another_resolution(tmp_path: Path) -> None:
    scene = open_scene(NORCIA)
    x0, y0 = scene.grid.transform * (0, 0)
    data = np.zeros((10, 12), dtype=np.uint8)  # 30 m pixels
    data[2:4, 3:6] = 7  # any nonzero value masks: 2 x 3 pixels of 30 m = 6 x 9 at 10 m
    path = tmp_path / "mask.tif"
    write_band(path, data, Affine(30, 0, x0, 0, -30, y0), scene.grid.crs)
    masked = _mask(with_masks(scene, mask=path))
    assert masked.sum() == 6 * 9 and masked[6:12, 9:18].all()


def test_user_mask_nodata_is_not_masked(tmp_path: Path) -> None:
    scene = open_scene(NORCIA)
    data = np.full((scene.grid.height, scene.grid.width), 255, dtype=np.uint8)
    data[:5, :5] = 1
    data[5:10, :5] = 0
    path = tmp_path / "mask.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=scene.grid.width,
        height=scene.grid.height,
        count=1,
        dtype="uint8",
        crs=scene.grid.crs,
        transform=scene.grid.transform,
        nodata=255,
    ) as dst:
        dst.write(data, 1)
    assert _mask(open_scene(NORCIA, mask=path)).sum() == 25


def test_user_mask_errors(tmp_path: Path) -> None:
    scene = open_scene(NORCIA)
    with pytest.raises(InputError, match="mask raster not found"):
        with_masks(scene, mask=tmp_path / "none.tif")
    far = tmp_path / "far.tif"
    write_band(far, np.ones((4, 4), np.uint8), Affine(10, 0, 0, 0, -10, 0), scene.grid.crs)
    with pytest.raises(InputError, match="does not overlap the scene"):
        with_masks(scene, mask=far)
    text = tmp_path / "text.tif"
    text.write_text("no raster")
    with pytest.raises(InputError, match="mask is not a readable raster"):
        with_masks(scene, mask=text)


def test_scl_classes_need_an_scl_band_and_valid_codes(l2a_safe: Path) -> None:
    with pytest.raises(InputError, match=r"no scene classification.*use --mask FILE"):
        open_scene(NORCIA, scl_classes="3,9")
    with pytest.raises(InputError, match="not an SCL class: '12'"):
        open_scene(l2a_safe, scl_classes="3,12")
    assert parse_classes("10, 3,3") == (3, 10)


def _small_raster(scene, path: Path, nodata: int | None = None) -> Path:  # type: ignore[no-untyped-def]
    """A 30 m raster over a corner of the scene: 1 on 2 x 3 pixels, 0 or nodata elsewhere."""
    x0, y0 = scene.grid.transform * (0, 0)
    data = np.zeros((10, 12), dtype=np.uint8)
    data[2:4, 3:6] = 1
    data[5:7, :] = 0 if nodata is None else nodata
    write_band(path, data, Affine(30, 0, x0, 0, -30, y0), scene.grid.crs)
    if nodata is not None:
        with rasterio.open(path, "r+") as ds:
            ds.nodata = nodata
    return path


def test_keep_raster_masks_all_but_its_nonzero_pixels(tmp_path: Path) -> None:
    """--keep is --mask the other way round: zero, nodata and outside the raster are masked."""
    scene = open_scene(NORCIA)
    small = _small_raster(scene, tmp_path / "small.tif", nodata=255)
    masked = _mask(with_masks(open_scene(NORCIA), mask=small))
    kept = _mask(ReadOptions.build(keep=small).open(NORCIA))
    assert masked.sum() == 6 * 9 and masked[6:12, 9:18].all()
    np.testing.assert_array_equal(kept, ~masked)  # nodata rows 15:21 and beyond 120 px: masked
    both = _mask(ReadOptions.build(keep=small, mask=small).open(NORCIA))
    assert both.all()
    np.testing.assert_array_equal(_mask(open_scene(NORCIA, keep=small)), kept)  # the API's own


def test_keep_raster_is_described_and_checked_like_a_mask(tmp_path: Path) -> None:
    scene = open_scene(NORCIA)
    small = _small_raster(scene, tmp_path / "small.tif")
    opened = ReadOptions.build(keep=small, mask=small, cloud_mask="none").open(NORCIA)
    assert [m.describe() for m in opened.masks] == [
        "mask (nonzero values)",
        "keep (nonzero values kept)",
    ]
    with pytest.raises(InputError, match="check the --keep path"):
        ReadOptions.build(keep=tmp_path / "none.tif").open(NORCIA)
