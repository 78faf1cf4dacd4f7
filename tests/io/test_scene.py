"""The lazy Scene: mirrored reads past the scene's edges (model context, never outputs)."""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

from geoseg.io.geotiff import open_scene
from tests.conftest import NORCIA

NAMES = ["B02", "B08", "B11"]


def test_a_window_past_the_edges_reads_the_scene_mirrored() -> None:
    scene = open_scene(NORCIA)
    h, w = scene.shape
    whole, valid = scene.read(Window(0, 0, w, h), NAMES)
    mirrored, seen, inside = scene.read_mirrored(Window(-40, -30, w + 90, h + 70), NAMES)
    pad = ((30, 40), (40, 50))
    assert np.array_equal(mirrored, np.pad(whole, ((0, 0), *pad), mode="symmetric"))
    assert np.array_equal(seen, np.pad(valid, pad, mode="symmetric"))
    assert inside.sum() == h * w and inside[30 : 30 + h, 40 : 40 + w].all()


def test_a_window_inside_reads_as_before() -> None:
    scene = open_scene(NORCIA)
    win = Window(10, 20, 64, 48)
    data, seen, inside = scene.read_mirrored(win, NAMES)
    ref, valid = scene.read(win, NAMES)
    assert np.array_equal(data, ref) and np.array_equal(seen, valid) and inside.all()
