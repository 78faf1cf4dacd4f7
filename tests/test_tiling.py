import numpy as np
import pytest
from affine import Affine
from rasterio.transform import from_origin

from geoseg.tiling import TileGrid, blend_window, crs_phase, mirror


@pytest.mark.parametrize(
    ("h", "w", "k"), [(1013, 1319, 1), (1013, 1319, 2), (100, 101, 3), (448, 448, 1)]
)
def test_chunk_cores_partition_the_scene(h: int, w: int, k: int) -> None:
    grid = TileGrid(h, w, tile=256, overlap=32, chunk_tiles=k)
    hits = np.zeros((h, w), dtype=np.int32)
    for ch in grid.chunks():
        c = ch.core
        hits[c.row_off : c.row_off + c.height, c.col_off : c.col_off + c.width] += 1
    assert (hits == 1).all()
    assert len(grid) == sum(1 for _ in grid.chunks())


def test_every_tile_runs_in_exactly_one_chunk() -> None:
    grid = TileGrid(1013, 1319, tile=256, overlap=32, chunk_tiles=2)
    owners = np.zeros((grid.n_tile_rows, grid.n_tile_cols), dtype=np.int32)
    for ch in grid.chunks():
        owners[ch.tile_rows.start : ch.tile_rows.stop, ch.tile_cols.start : ch.tile_cols.stop] += 1
        assert (ch.extent.row_off, ch.extent.col_off) == (ch.core.row_off, ch.core.col_off)
        assert ch.read.row_off + ch.read.height <= grid.height
    assert (owners == 1).all()


def test_tiles_touching_a_core_belong_to_it_or_to_the_chunks_above_and_left() -> None:
    grid = TileGrid(1013, 1319, tile=256, overlap=32, chunk_tiles=2)
    s, t, k = grid.stride, grid.tile, grid.chunk_tiles
    for ch in grid.chunks():
        c = ch.core
        touching = [
            i
            for i in range(grid.n_tile_rows)
            if i * s < c.row_off + c.height and i * s + t > c.row_off
        ]
        assert all(i // k in (ch.row - 1, ch.row) for i in touching)
        assert set(ch.tile_rows) <= set(touching)


def test_tiles_cover_the_scene_and_small_scenes_get_one_tile() -> None:
    grid = TileGrid(1013, 1319, tile=256, overlap=32)
    assert (grid.n_tile_rows - 1) * grid.stride + grid.tile >= 1013
    small = TileGrid(100, 60, tile=256, overlap=32)
    assert (small.n_tile_rows, small.n_tile_cols, len(small)) == (1, 1, 1)


@pytest.mark.parametrize(("tile", "overlap"), [(256, 32), (512, 64), (64, 0), (128, 64)])
def test_blend_window_is_a_partition_of_unity(tile: int, overlap: int) -> None:
    w = blend_window(tile, overlap)
    assert (w > 0).all()
    ramp = np.sqrt(np.diag(w))  # w is the outer product of a 1-D ramp with itself
    stride = tile - overlap
    total = np.zeros(stride * 3 + overlap)
    for k in range(3):
        total[k * stride : k * stride + tile] += ramp
    inner = total[overlap : 3 * stride]  # away from the outer edges
    np.testing.assert_allclose(inner, 1.0, atol=1e-6)


def test_for_chunk_size_rounds_to_whole_strides() -> None:
    grid = TileGrid.for_chunk_size(10980, 10980, 512, 64, 2048)
    assert grid.core_size % grid.stride == 0
    assert abs(grid.core_size - 2048) <= grid.stride


@pytest.mark.parametrize("bad", [{"tile": 100}, {"overlap": 300}, {"chunk_tiles": 0}])
def test_invalid_grids_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        TileGrid(100, 100, **bad)


@pytest.mark.parametrize("margin", [32, 64, 100])
def test_a_margin_frames_the_scene_and_cores_still_partition_it(margin: int) -> None:
    """With a margin the grid starts and ends ``margin`` px outside the scene, so no scene pixel
    lies on the outer border of every tile that sees it; the cores' in-scene parts still cover
    every pixel once."""
    h, w = 700, 901
    grid = TileGrid(h, w, tile=256, overlap=32, chunk_tiles=2, margin=margin)
    assert grid.origin(0) == -margin
    hits = np.zeros((h, w), dtype=np.int32)
    for ch in grid.chunks():
        assert ch.read.row_off >= -margin and ch.read.row_off + ch.read.height <= h + margin
        placed = grid.in_scene(ch.core)
        if placed is None:
            continue
        win, (rows, cols) = placed
        assert (rows.stop - rows.start, cols.stop - cols.start) == (win.height, win.width)
        hits[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width] += 1
    assert (hits == 1).all()
    last = grid.chunk(grid.n_chunk_rows - 1, grid.n_chunk_cols - 1)
    assert last.core.row_off + last.core.height == h + margin  # the margin is seen below too


def test_mirror_reflects_at_both_edges_and_repeats() -> None:
    assert mirror(-3, 9, 4).tolist() == [2, 1, 0, 0, 1, 2, 3, 3, 2]
    assert mirror(0, 4, 4).tolist() == [0, 1, 2, 3]
    assert mirror(-9, 3, 2).tolist() == [0, 0, 1]  # reaches longer than the scene still land in it


def _tile_origins(grid: TileGrid, transform: Affine) -> set[tuple[float, float]]:
    """Upper-left corners of every tile of ``grid``, in CRS coordinates."""
    return {
        transform * (grid.origin(j, 1), grid.origin(i, 0))
        for i in range(grid.n_tile_rows)
        for j in range(grid.n_tile_cols)
    }


def test_tiles_are_anchored_to_the_crs_so_a_sub_crop_sees_the_full_scenes_tiles() -> None:
    """A sub-crop at any offset (here none on a 32-px or tile step) has its tiles where the full
    scene has them, wherever both reach; cores still cover every pixel once."""
    full_t = from_origin(600_000, 5_600_000, 10, 10)
    full = TileGrid.for_chunk_size(2000, 1800, 512, 64, 896, full_t)
    r, c = 74, 106
    sub_t = full_t * Affine.translation(c, r)
    sub = TileGrid.for_chunk_size(900, 1100, 512, 64, 896, sub_t)
    assert sub.phase == ((full.phase[0] + r) % 448, (full.phase[1] + c) % 448)
    inside = {
        (x, y)
        for x, y in _tile_origins(sub, sub_t)
        if x >= 600_000 and y <= 5_600_000  # tiles that start inside the full scene
    }
    assert inside and inside <= _tile_origins(full, full_t)
    for grid in (full, sub):
        hits = np.zeros((grid.height, grid.width), dtype=np.int32)
        for ch in grid.chunks():
            placed = grid.in_scene(ch.core)
            if placed is not None:
                w = placed[0]
                hits[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
        assert (hits == 1).all()
        first = grid.chunk(0, 0)
        assert first.core.row_off == -64 - grid.phase[0]
        assert first.extent.col_off == -64 - grid.phase[1]


def test_crs_phase() -> None:
    assert crs_phase(from_origin(600_000, 5_600_000, 10, 10), 448) == (
        560_000 % 448,
        60_000 % 448,
    )
    assert crs_phase(Affine(10, 0.5, 0, 0.5, -10, 0), 448) == (0, 0)  # rotated: corner-anchored
    with pytest.raises(ValueError, match="phase must be between 0 and the stride"):
        TileGrid(100, 100, 256, 32, phase=(0, 224))
