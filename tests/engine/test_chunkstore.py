"""The chunk store keeps finished chunks in the folder it is given, and gives them back whole.

(The folder's name, the run's fingerprint, is tested in tests/run/test_identity.py.)"""

from pathlib import Path

import numpy as np
from rasterio.windows import Window

from geoseg.core.blend import ChunkOutput, Piece
from geoseg.engine.chunkstore import ChunkStore
from geoseg.tiling import TileGrid


def test_saved_chunks_load_back_equal(tmp_path: Path) -> None:
    grid = TileGrid(200, 200, 64, 16, 2)
    store = ChunkStore(tmp_path / "store", grid)
    assert store.done() == set()
    chunk = grid.chunk(1, 0)
    h, w = int(chunk.core.height), int(chunk.core.width)
    rng = np.random.default_rng(0)
    acc = rng.random((3, 4, 5), dtype=np.float32)
    out = ChunkOutput(
        chunk,
        rng.integers(0, 9, (h, w), dtype=np.uint8),
        rng.integers(0, 100, (h, w), dtype=np.uint8),
        rng.random((h, w)) > 0.5,
        (Piece((1, 0), Window(3, 4, 5, 4), acc, acc[0].copy()),),
        extra=rng.random((1, h, w), dtype=np.float32),
        masked=7,
        probabilities=rng.integers(0, 101, (3, h, w), dtype=np.uint8),
    )
    store.save(out)
    assert store.done() == {(1, 0)}
    back = store.load(1, 0)
    assert back.chunk == chunk and back.masked == 7
    for name in ("classes", "confidence", "valid", "extra", "probabilities"):
        np.testing.assert_array_equal(getattr(back, name), getattr(out, name))
    (piece,) = back.pieces
    assert piece.window == Window(3, 4, 5, 4) and piece.source == (1, 0)
    np.testing.assert_array_equal(piece.acc, acc)
    assert [p.name for p in store.root.iterdir()] == ["r0001c0000.npz"]  # no temp file left
    store.remove()
    assert not store.root.exists()


def test_a_save_cut_short_is_not_a_finished_chunk(tmp_path: Path) -> None:
    """A signal during a save leaves the hidden temp file (and older runs' ``*.tmp.npz``):
    resuming must not count either as a finished chunk."""
    store = ChunkStore(tmp_path / "store", TileGrid(200, 200, 64, 16, 2))
    (store.root / ".r0000c0001.npz.tmp").write_bytes(b"half a chunk")
    (store.root / "r0000c0000.tmp.npz").write_bytes(b"half a chunk")
    assert store.done() == set()
