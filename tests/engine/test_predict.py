"""Tiling promises on real crops: chunking never changes the classes; tiles leave no seams."""

from pathlib import Path

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.engine.predict import Predictor
from geoseg.io.geotiff import open_scene
from geoseg.models.bundle import load_bundle
from geoseg.tiling import TileGrid, edge_margin
from tests.conftest import BEIRUT, DATA, NORCIA, classify_array

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


@pytest.mark.slow
def test_test_time_augmentation_keeps_chunk_invariance(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    a = classify_array(NORCIA, bundle, 128, 32, chunk_tiles=1, tta=True)
    b = classify_array(NORCIA, bundle, 128, 32, chunk_tiles=3, tta=True)
    assert (a != b).mean() <= MAX_FLIPS
    assert (a != classify_array(NORCIA, bundle, 128, 32, chunk_tiles=3)).any()  # TTA did act


@pytest.mark.parametrize("tta", [False, True])
def test_test_time_augmentation_turns_with_the_tile(bundle_dir: Path, tta: bool) -> None:
    """With TTA a rotated or mirrored tile gets the rotated or mirrored probabilities: the
    mean over the 8 views does not depend on the orientation; one view does."""
    pred = Predictor(load_bundle(bundle_dir), device="cpu", tta=tta)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(2, 12, 64, 64)).astype("float32"))
    probs = pred._forward(x)
    assert torch.allclose(probs.sum(dim=1), torch.ones(2, 64, 64), atol=1e-5)
    turned = torch.rot90(pred._forward(torch.rot90(x, 1, dims=(2, 3)).flip(3)).flip(3), -1, (2, 3))
    assert torch.allclose(turned, probs, atol=1e-5) == tta


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
    """Pixels within ``band`` px of an edge of any tile of the grid (where a seam would show);
    tiles start ``edge_margin`` px before the scene, as the pipeline lays them."""
    stride, margin = tile - overlap, edge_margin(tile, overlap)

    def near(x: np.ndarray) -> np.ndarray:
        x = x + margin
        to_start = np.abs((x + stride // 2) % stride - stride // 2)
        to_end = np.abs((x - tile + stride // 2) % stride - stride // 2)
        return np.minimum(to_start, to_end) < band

    rows, cols = np.indices(shape)
    return near(rows) | near(cols)


#: crops whose tile-border statistics are pooled: one crop's few flipping patches would decide
SEAM_CROPS = [
    BEIRUT,
    *(
        DATA / "train" / n
        for n in (
            "oscd_paris_20171107",
            "oscd_valencia_20160730",
            "oscd_montpellier_20150812",
            "oscd_rennes_20170621",
        )
    ),
]


@pytest.mark.slow
def test_tiles_leave_no_seams_with_the_default_model() -> None:
    """The tiling promises: against half and twice the bundle's tile size, tile borders disagree
    at most 1.5 × as often as tile insides, pooled over five crops (no seams), and the bundle's
    tile size agrees with twice that size on >= 97.5 % of pixels (context changes a few patches)."""
    bundle = load_bundle()
    tile, overlap = bundle.spec.tile_size, bundle.spec.overlap
    # per other size: differing/all pixels on tile borders, then inside tiles
    counts = {size: np.zeros(4, dtype=np.int64) for size in (tile // 2, 2 * tile)}
    for crop in SEAM_CROPS:
        base = classify_array(crop, bundle, tile, overlap, chunk_tiles=2)
        valid = base != NODATA
        for size, n in counts.items():
            other = classify_array(crop, bundle, size, overlap, chunk_tiles=max(1, 1024 // size))
            differ = (base != other) & valid
            border = near_tile_edges(base.shape, tile, overlap, 8)
            border |= near_tile_edges(base.shape, size, overlap, 8)
            for i, part in enumerate((border & valid, ~border & valid)):
                n[2 * i : 2 * i + 2] += (differ & part).sum(), part.sum()
            if crop == BEIRUT and size > tile:
                assert ((base == other) & valid).sum() / valid.sum() >= 0.975
    for size, n in counts.items():
        assert n[0] / n[1] <= 1.5 * n[2] / n[3], f"tile {tile} vs {size}: {n}"
