import copy
import random
from pathlib import Path

import numpy as np

from geoseg.core.blend import Assembler, decide, percentages
from geoseg.engine.local import Job, process_chunk
from geoseg.engine.predict import Predictor
from geoseg.io.geotiff import open_scene
from geoseg.models.bundle import load_bundle
from geoseg.tiling import TileGrid
from tests.conftest import NORCIA


def _assemble(parts, grid):  # type: ignore[no-untyped-def]
    asm = Assembler(grid)
    out = np.full(grid_shape(grid), 254, dtype=np.uint8)
    for part in parts:
        for res in asm.add(part):
            c = res.chunk.core
            out[c.row_off : c.row_off + c.height, c.col_off : c.col_off + c.width] = res.classes
    assert asm.waiting == 0
    return out


def grid_shape(grid: TileGrid) -> tuple[int, int]:
    return (grid.height, grid.width)


def test_arrival_order_does_not_change_the_result(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    scene = open_scene(NORCIA)
    grid = TileGrid(*scene.shape, tile=64, overlap=16, chunk_tiles=2)
    pred = Predictor(bundle)
    job = Job(scene, grid)
    parts = [process_chunk(job, pred, (ch.row, ch.col)) for ch in grid.chunks()]
    in_order = _assemble(copy.deepcopy(parts), grid)  # the assembler adds into what it is given
    shuffled = parts[:]
    random.Random(7).shuffle(shuffled)
    assert (in_order != 254).all()
    np.testing.assert_array_equal(_assemble(shuffled, grid), in_order)


def test_cores_finish_as_soon_as_their_neighbours_arrive(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    scene = open_scene(NORCIA)
    grid = TileGrid(*scene.shape, tile=64, overlap=16, chunk_tiles=2)
    pred = Predictor(bundle)
    asm = Assembler(grid)
    job = Job(scene, grid)
    first = asm.add(process_chunk(job, pred, (0, 0)))
    assert [(r.chunk.row, r.chunk.col) for r in first] == [(0, 0)]
    assert asm.add(process_chunk(job, pred, (1, 1))) == []


def test_decide_is_numpys_first_maximum_argmax() -> None:
    rng = np.random.default_rng(7)
    acc = rng.integers(0, 4, (9, 50, 60)).astype(np.float32)  # many ties between classes
    wsum = np.full((50, 60), 3.0, dtype=np.float32)
    valid = np.ones((50, 60), dtype=bool)
    classes, confidence = decide(acc[:, 5:, 3:], wsum[5:, 3:], valid[5:, 3:])  # strided views
    np.testing.assert_array_equal(classes, acc[:, 5:, 3:].argmax(axis=0))
    np.testing.assert_array_equal(confidence, np.rint(100 * acc[:, 5:, 3:].max(axis=0) / 3))


def test_percentages_round_like_the_confidence() -> None:
    rng = np.random.default_rng(3)
    acc = rng.random((5, 30, 40), dtype=np.float32)
    wsum = acc.sum(axis=0) * rng.uniform(0.5, 1.5, (30, 40)).astype(np.float32)
    acc /= acc.sum(axis=0) / wsum  # sums of weight x probability: probabilities sum to 1
    valid = rng.random((30, 40)) > 0.1
    wsum[0, :3] = 0  # no tile weight: nodata like the confidence
    classes, confidence = decide(acc, wsum, valid)
    assert (classes == 255).sum() == (confidence == 255).sum()
    pct = percentages(acc, wsum, valid)
    assert pct.dtype == np.uint8 and pct.shape == acc.shape
    np.testing.assert_array_equal(pct.max(axis=0), confidence)
    ok = confidence != 255
    assert (pct[:, ~ok] == 255).all()
    sums = pct[:, ok].sum(axis=0, dtype=np.int64)
    assert (abs(sums - 100) <= 5).all()


def test_assembled_probabilities_match_the_cores(bundle_dir: Path) -> None:
    """Settled and assembled (shared strips) pixels alike: the largest band is the confidence."""
    scene = open_scene(NORCIA)
    grid = TileGrid(*scene.shape, tile=64, overlap=16, chunk_tiles=2)
    pred = Predictor(load_bundle(bundle_dir))
    job = Job(scene, grid, probabilities=True)
    asm = Assembler(grid)
    results = []
    for ch in grid.chunks():
        results += asm.add(process_chunk(job, pred, (ch.row, ch.col)))
    assert asm.waiting == 0 and len(results) == len(grid)
    for res in results:
        assert res.probabilities is not None
        assert res.probabilities.shape == (pred.n_classes, *res.classes.shape)
        np.testing.assert_array_equal(res.probabilities.max(axis=0), res.confidence)
    plain = process_chunk(Job(scene, grid), pred, (0, 0))
    assert plain.probabilities is None
