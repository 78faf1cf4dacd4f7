"""Clouds detected in Level-1C scenes (s2cloudless): on a product of the real Norcia crop with one
painted cloud (tests/io/products.py), the cloud is masked and the crop's real land is not."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from geoseg.errors import InputError
from geoseg.io.clouds import CLOUD_BANDS, CoarseMask, detectable
from geoseg.io.reader import open_scene
from tests.io.products import CLOUD_BLOCK


def _mask(scene) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = scene.read_mask(Window(0, 0, scene.grid.width, scene.grid.height))
    assert out is not None
    return out


def test_a_cloud_is_masked_and_the_real_land_around_it_is_not(cloudy_l1c: Path) -> None:
    scene = open_scene(cloudy_l1c)
    assert [m.name for m in scene.masks] == ["clouds"]
    masked = _mask(scene)
    rows, cols = CLOUD_BLOCK
    assert masked[rows, cols].all()
    # the mask reaches past the cloud by its averaging and dilation (at most 6 cells of 60 m)
    near = np.zeros_like(masked)
    near[rows.start - 36 : rows.stop + 36, cols.start - 36 : cols.stop + 36] = True
    assert not masked[~near].any()  # the crop's real top-of-atmosphere land: no cloud anywhere
    assert scene.detect_masks() == {"clouds": pytest.approx(masked.mean(), abs=0.01)}


def test_windows_agree_with_the_full_read(cloudy_l1c: Path) -> None:
    scene = open_scene(cloudy_l1c)
    full = _mask(scene)
    for win in (Window(75, 77, 70, 50), Window(341, 290, 7, 9), Window(0, 0, 5, 299)):
        part = scene.read_mask(win)
        r, c = int(win.row_off), int(win.col_off)
        np.testing.assert_array_equal(part, full[r : r + int(win.height), c : c + int(win.width)])


def test_the_scene_runs_the_detector_once(
    cloudy_l1c: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geoseg.io.clouds as clouds

    calls = []
    real = clouds.detect
    monkeypatch.setattr(clouds, "detect", lambda scene: calls.append(1) or real(scene))
    scene = open_scene(cloudy_l1c)
    scene.detect_masks()
    for win in (Window(0, 0, 50, 50), Window(100, 100, 50, 50)):
        scene.read_mask(win)
    assert len(calls) == 1


def test_no_cloud_mask_turns_detection_off(cloudy_l1c: Path) -> None:
    scene = open_scene(cloudy_l1c, cloud_mask=False)
    assert scene.masks == [] and scene.read_mask(Window(0, 0, 9, 9)) is None


def test_only_level1c_scenes_with_the_detector_bands_are_detected(
    l1c_safe: Path, l2a_safe: Path, cloudy_l1c: Path
) -> None:
    assert not detectable(open_scene(l1c_safe))  # no B09, B10: nothing to detect with
    assert [m.name for m in open_scene(l2a_safe).masks] == ["SCL"]  # L2A: the product's SCL
    scene = open_scene(cloudy_l1c)
    scene.provenance["S2_PROCESSING_LEVEL"] = "L2A"
    assert not detectable(scene)
    assert set(CLOUD_BANDS) <= set(open_scene(cloudy_l1c).bands)


def test_a_coarse_mask_maps_each_cell_onto_the_pixels_it_covers() -> None:
    coarse = CoarseMask(6, np.array([[True, False], [False, True]]))
    out = coarse.window(Window(4, 4, 10, 4))  # rows 4..7, cols 4..13: cells (0|1, 0|1|2→1)
    expected = np.zeros((4, 10), dtype=bool)
    expected[:2, :2] = True  # rows 4, 5 in cell row 0; cols 4, 5 in cell col 0
    expected[2:, 2:] = True  # rows 6, 7 in cell row 1; cols 6.. in cell col 1 (12, 13 clipped)
    np.testing.assert_array_equal(out, expected)
    assert coarse.fraction == 0.5


def test_an_unreadable_detector_band_fails_in_one_line(cloudy_l1c: Path, tmp_path: Path) -> None:
    """B10 as a tiled GeoTIFF whose middle tile is corrupt: opening the product (which reads
    each band's first and last pixel) passes, the detector's read fails with what to do."""
    import shutil

    safe = Path(shutil.copytree(cloudy_l1c, tmp_path / cloudy_l1c.name))
    jp2 = next(safe.rglob("*_B10.jp2"))
    with rasterio.open(jp2) as ds:
        data, profile = ds.read(1), ds.profile
    tif = jp2.with_suffix(".tif")
    profile.update(driver="GTiff", tiled=True, blockxsize=16, blockysize=16, compress="deflate")
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(data, 1)
    jp2.unlink()
    with rasterio.open(tif) as ds:
        offset = int(ds.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    raw = bytearray(tif.read_bytes())
    raw[offset : offset + 40] = b"\xff" * 40
    tif.write_bytes(bytes(raw))
    scene = open_scene(safe)
    with pytest.raises(InputError, match="cannot read B10 for cloud detection") as err:
        scene.detect_masks()
    assert "--no-cloud-mask" in str(err.value)


def test_strips_average_each_cell_whether_decimated_or_warped(tmp_path: Path) -> None:
    """A 37 x 50 px file under 60 m cells: the 6 x 8 whole cells are read decimated and are the
    mean of the pixels each holds; the partial last row and column come from the warper (whose
    footprint at the file's edge is its own), filled with values of the file."""
    from affine import Affine

    from geoseg.io.clouds import _Strips
    from geoseg.io.grid import Grid

    rng = np.random.default_rng(0)
    data = rng.integers(100, 5000, size=(37, 50)).astype(np.uint16)
    path = tmp_path / "b.tif"
    transform = Affine(10, 0, 500000, 0, -10, 4000000)
    with rasterio.open(
        path, "w", driver="GTiff", width=50, height=37, count=1, dtype="uint16",
        crs="EPSG:32633", transform=transform,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    coarse = Grid(rasterio.crs.CRS.from_epsg(32633), transform * Affine.scale(6), 9, 7)
    expected = np.array(
        [[data[r : r + 6, c : c + 6].mean() for c in range(0, 50, 6)] for r in range(0, 37, 6)]
    )
    with rasterio.open(path) as ds, _Strips(ds, coarse, None) as strips:
        assert strips.k == 6
        got = np.concatenate([strips.read([1], 0, 4)[0], strips.read([1], 4, 3)[0]])
    np.testing.assert_allclose(got[:6, :8], expected[:6, :8], atol=1.0)  # GDAL rounds to ints
    edge = np.concatenate([got[6], got[:6, 8]])
    assert (edge >= data.min()).all() and (edge <= data.max()).all()
