"""Tiling promises on real crops: chunking never changes the classes; tiles leave no seams."""

from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.engine.predict import Predictor
from geoseg.io.geotiff import open_scene
from geoseg.models.bundle import load_bundle
from geoseg.tiling import TileGrid
from tests.conftest import BEIRUT, NORCIA, classify_array

MAX_FLIPS = 1e-5  # floating-point batch effects may flip at most 1 pixel in 100,000


@pytest.mark.slow
def test_class_raster_is_independent_of_chunk_size(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    ref = classify_array(BEIRUT, bundle, 256, 32, chunk_tiles=10)  # the whole crop in one chunk
    for k in (1, 2, 3):
        other = classify_array(BEIRUT, bundle, 256, 32, chunk_tiles=k)
        assert (other != ref).mean() <= MAX_FLIPS, f"chunk_tiles={k}"


@pytest.mark.slow
def test_class_raster_is_independent_of_batch_size(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    a = classify_array(NORCIA, bundle, 128, 32, chunk_tiles=2, batch_size=1)
    b = classify_array(NORCIA, bundle, 128, 32, chunk_tiles=2, batch_size=7)
    assert (a != b).mean() <= MAX_FLIPS


def test_nodata_stays_nodata_and_valid_pixels_get_a_class(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    scene = open_scene(NORCIA)
    _, valid = scene.read(Window(0, 0, scene.grid.width, scene.grid.height), bundle.read_bands)
    out = classify_array(NORCIA, bundle, 256, 32, chunk_tiles=1)
    assert ((out == NODATA) == ~valid).all()
    assert out[valid].max() < len(bundle.classes)


def test_scene_smaller_than_a_tile(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    out = classify_array(NORCIA, bundle, 512, 64, chunk_tiles=4)
    assert out.shape == (299, 348)


def test_partial_sums_cover_the_read_window(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    scene = open_scene(NORCIA)
    grid = TileGrid(*scene.shape, tile=128, overlap=32, chunk_tiles=2)
    chunk = grid.chunk(1, 1)
    pred = Predictor(bundle)
    refl, valid = scene.read(chunk.read, bundle.read_bands)
    part = pred.predict_chunk(pred.features(refl, valid), valid, grid, chunk)
    assert part.acc.shape == (9, *valid.shape) and part.wsum.shape == valid.shape
    assert (part.wsum > 0).all()
    assert np.isfinite(part.acc).all()


def near_tile_edges(shape: tuple[int, int], tile: int, overlap: int, band: int) -> np.ndarray:
    """Pixels within ``band`` px of an edge of any tile of the grid (where a seam would show)."""
    stride = tile - overlap

    def near(x: np.ndarray) -> np.ndarray:
        to_start = np.abs((x + stride // 2) % stride - stride // 2)
        to_end = np.abs((x - tile + stride // 2) % stride - stride // 2)
        return np.minimum(to_start, to_end) < band

    rows, cols = np.indices(shape)
    inner = (rows >= band) & (cols >= band)  # the scene edge is no tile border
    return (near(rows) | near(cols)) & inner


@pytest.mark.slow
def test_tiles_leave_no_seams_with_the_default_model() -> None:
    """Tile 256 vs 512 (the bundle's overlap) agree on >= 99 % of pixels, and they disagree no
    more within 8 px of tile edges than inside tiles (at most twice as often)."""
    bundle = load_bundle()
    overlap = bundle.spec.overlap
    a = classify_array(BEIRUT, bundle, 256, overlap, chunk_tiles=4)
    b = classify_array(BEIRUT, bundle, 512, overlap, chunk_tiles=2)
    valid = a != NODATA
    differ = (a != b) & valid
    assert 1 - differ[valid].mean() >= 0.99
    border = near_tile_edges(a.shape, 256, overlap, 8) | near_tile_edges(a.shape, 512, overlap, 8)
    inside = ~border & valid
    assert differ[border & valid].mean() <= 2 * differ[inside].mean()
