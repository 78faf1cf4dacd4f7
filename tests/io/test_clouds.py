"""Clouds and cloud shadows (ukis-csmask at 30 m, geoseg.io.clouds) on real data: the cloudy
images of ../shared/data/clouds are covered where their difference maps say cloud, the clear
crops of s2-dw/val and s2-dw/test are left alone, and a sub-crop gets the full image's mask."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from geoseg.errors import GeosegError, InputError
from geoseg.io import clouds
from geoseg.io.grid import Grid
from geoseg.io.read_options import ReadOptions
from geoseg.io.reader import open_scene
from tests.conftest import DATA, SHARED

PAIRS = SHARED / "clouds"
#: the pairs whose cloudy image holds much cloud in its difference map (the DR Congo ones)
CLOUDY = ("ROIs1158_spring_39_p100", "ROIs1158_spring_39_p500", "ROIs1158_spring_39_p838")
CROPS = sorted(p for split in ("val", "test") for p in (DATA / split).iterdir())


def _labels(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    scene = open_scene(path, cloud_mask="none")
    everything = Window(0, 0, scene.grid.width, scene.grid.height)
    _, valid = scene.read(everything, ["B02"])
    return clouds.detect(scene).labels(everything), valid


def _masked(labels: np.ndarray) -> np.ndarray:
    return (labels == clouds.CLOUD) | (labels == clouds.SHADOW)


@pytest.mark.slow
def test_the_clouds_of_the_real_pairs_are_masked() -> None:
    hit = total = 0
    for name in CLOUDY:
        with rasterio.open(PAIRS / name / "diff_reference.tif") as ds:
            cloud = ds.read(1) == 1
        labels, _ = _labels(PAIRS / name / "cloudy.tif")
        covered = int(_masked(labels)[cloud].sum())
        assert covered >= 0.8 * cloud.sum(), name
        hit, total = hit + covered, total + int(cloud.sum())
        clear, _ = _labels(PAIRS / name / "clear.tif")
        assert _masked(clear).mean() <= 0.01, name  # the same place on a clear date
    assert hit >= 0.8 * total


@pytest.mark.slow
def test_clear_crops_of_val_and_test_are_left_alone() -> None:
    """False alarms: <= 1 % of the pixels of every val/test crop pooled, <= 2 % on the worst."""
    flagged = pixels = 0
    for crop in CROPS:
        labels, valid = _labels(crop)
        n = int((_masked(labels) & valid).sum())
        assert n <= 0.02 * valid.sum(), crop.name
        flagged, pixels = flagged + n, pixels + int(valid.sum())
    assert flagged <= 0.01 * pixels


def _cut(src: Path, dst: Path, r0: int, c0: int) -> Path:
    with rasterio.open(src) as ds:
        win = Window(c0, r0, ds.width - c0, ds.height - r0)
        profile = {**ds.profile, "width": int(win.width), "height": int(win.height)}
        profile["transform"] = ds.window_transform(win)
        data, names = ds.read(window=win), ds.descriptions
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data)
        out.descriptions = names
    return dst


@pytest.mark.slow
def test_a_sub_crop_gets_the_full_images_mask_away_from_the_cut(tmp_path: Path) -> None:
    """Cells and tiles sit on the CRS's lattice, so a cut moves neither; what still differs is
    the context the network sees past the cut. These images are 256 px (85 cells, a third of a
    tile), so every tile crosses the cut: a larger scene keeps more of it."""
    same = total = 0
    for name in CLOUDY:
        full, _ = _labels(PAIRS / name / "cloudy.tif")
        for r0, c0 in ((1, 2), (7, 11), (37, 53), (100, 4)):
            part, _ = _labels(_cut(PAIRS / name / "cloudy.tif", tmp_path / "cut.tif", r0, c0))
            far = (slice(64, None), slice(64, None))  # > 64 px from the two cut edges
            same += int((_masked(part[far]) == _masked(full[r0:, c0:][far])).sum())
            total += part[far].size
    assert same >= 0.99 * total


def test_cells_sit_on_the_crs_lattice_whatever_the_cut() -> None:
    crs = CRS.from_epsg(32633)
    for dx, dy in ((0, 0), (10, 0), (20, 30), (-10, 50)):
        grid = Grid(crs, Affine(10, 0, 342300 + dx, 0, -10, 4741180 - dy), 100, 80)
        coarse, factor, row_off, col_off = clouds.detector_grid(grid)
        assert factor == 3 and coarse.res == (30.0, 30.0)
        assert coarse.transform.c % 30 == 0 and coarse.transform.f % 30 == 0
        assert grid.transform * (-col_off, -row_off) == (coarse.transform.c, coarse.transform.f)


def test_windows_agree_with_the_full_read_and_the_record_counts_both_classes() -> None:
    scene = open_scene(PAIRS / CLOUDY[0] / "cloudy.tif")
    assert [m.name for m in scene.masks] == ["clouds"]
    full = scene.read_mask(Window(0, 0, scene.grid.width, scene.grid.height))
    assert full is not None and 0.3 < full.mean() < 0.7
    for win in (Window(75, 77, 70, 50), Window(250, 200, 6, 9), Window(0, 0, 5, 256)):
        part = scene.read_mask(win)
        r, c = int(win.row_off), int(win.col_off)
        np.testing.assert_array_equal(part, full[r : r + int(win.height), c : c + int(win.width)])
    record = scene.cloud_record()
    assert record["method"] == "csmask"
    assert float(record["cloud_pct"]) > 20 and float(record["shadow_pct"]) > 5


def test_the_scene_runs_the_detector_once(l1c_safe: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = clouds.detect
    monkeypatch.setattr(clouds, "detect", lambda scene: calls.append(1) or real(scene))
    scene = open_scene(l1c_safe)
    scene.detect_masks()
    for win in (Window(0, 0, 50, 50), Window(100, 100, 50, 50)):
        scene.read_mask(win)
    assert len(calls) == 1


def test_cloud_mask_choices(l1c_safe: Path, l2a_safe: Path, norcia_tif: Path) -> None:
    for off in ("none", False):
        scene = open_scene(l1c_safe, cloud_mask=off)
        assert scene.masks == [] and scene.read_mask(Window(0, 0, 9, 9)) is None
    assert [m.name for m in open_scene(l2a_safe).masks] == ["SCL"]  # L2A keeps its SCL
    both = open_scene(l2a_safe, cloud_mask="csmask,scl")
    assert [m.name for m in both.masks] == ["SCL", "clouds"]
    assert [m.name for m in open_scene(norcia_tif).masks] == ["clouds"]  # a GeoTIFF stack too
    with pytest.raises(InputError, match="no scene classification"):
        open_scene(l1c_safe, cloud_mask="scl")


def test_a_bad_cloud_mask_option_is_one_line() -> None:
    with pytest.raises(GeosegError, match="--cloud-mask 'fmask' is not valid") as err:
        ReadOptions.build(cloud_mask="fmask")
    assert "auto" in str(err.value) and "\n" not in str(err.value)
    assert ReadOptions.build(cloud_mask="CSMASK, scl").cloud_mask == "scl,csmask"


def test_each_level_gets_its_model(l1c_safe: Path, l2a_safe: Path) -> None:
    assert clouds.level(open_scene(l1c_safe)) == "l1c"
    assert clouds.level(open_scene(l2a_safe)) == "l2a"
    assert clouds.model_bands(open_scene(l2a_safe)) == clouds.BANDS_6


def test_a_scene_without_the_bands_is_not_detected(tmp_path: Path) -> None:
    from tests.conftest import write_stack

    path = write_stack(DATA / "val" / "oscd_norcia_20171018", tmp_path / "s.tif", ["B02", "B03"])
    assert open_scene(path).masks == []  # auto: nothing to detect with
    with pytest.raises(InputError, match="needs bands B02, B03, B04, B08"):
        open_scene(path, cloud_mask="csmask")


def test_the_shadow_search_takes_the_sun_the_product_states(l1c_safe: Path, l2a_zip: Path) -> None:
    from tests.io.products import SUN

    for product in (l1c_safe, l2a_zip):  # MTD_TL.xml's Mean_Sun_Angle, in a folder and a zip
        assert clouds.sun_angles(open_scene(product)) == pytest.approx(SUN)
