"""The lazy Scene: mirrored reads past the scene's edges (model context, never outputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
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


def test_a_window_past_one_edge_mirrors_along_that_axis_only() -> None:
    """Chunks on one edge skip the other axis's reindexing: the result must not change."""
    scene = open_scene(NORCIA)
    h, w = scene.shape
    whole, valid = scene.read(Window(0, 0, w, h), NAMES)
    for win, pad in [
        (Window(5, -20, 60, 50), ((20, 0), (0, 0))),  # top edge
        (Window(w - 30, 7, 50, 40), ((0, 0), (0, 20))),  # right edge
    ]:
        mirrored, seen, _ = scene.read_mirrored(win, NAMES)
        r0, c0 = max(0, int(win.row_off)), max(0, int(win.col_off))
        r1 = int(win.row_off + win.height) - pad[0][1]
        c1 = int(win.col_off + win.width) - pad[1][1]
        ref = np.pad(whole[:, r0:r1, c0:c1], ((0, 0), *pad), mode="symmetric")
        assert np.array_equal(mirrored, ref)
        assert np.array_equal(seen, np.pad(valid[r0:r1, c0:c1], pad, mode="symmetric"))


def test_a_window_inside_reads_as_before() -> None:
    scene = open_scene(NORCIA)
    win = Window(10, 20, 64, 48)
    data, seen, inside = scene.read_mirrored(win, NAMES)
    ref, valid = scene.read(win, NAMES)
    assert np.array_equal(data, ref) and np.array_equal(seen, valid) and inside.all()


def test_a_value_no_reflectance_can_have_is_invalid(tmp_path: Path) -> None:
    """A stray 3e38 in a float file would overflow the network's input and turn the whole tile
    into NaN: the pixel reads as invalid instead, like NaN and nodata."""
    data = np.full((4, 3, 5), 0.2, dtype=np.float32)
    data[2, 1, 3] = 3e38
    data[0, 0, 0] = -1e5
    path = _write(tmp_path / "stray.tif", data)
    reflectance, valid = open_scene(path, scale=1.0).read(Window(0, 0, 5, 3), ["B02", "B04"])
    assert not valid[1, 3] and not valid[0, 0] and valid.sum() == 13
    assert np.isfinite(reflectance).all() and reflectance[:, ~valid].max() == 0


def test_integer_bands_that_can_exceed_reflectance_are_still_checked(tmp_path: Path) -> None:
    """uint16 DN × 1e-4 is always plausible and skips the check; the same file read at scale 1
    (a wrong setting) can hold 60000 and must not reach the network as reflectance."""
    data = np.full((4, 3, 5), 2000, dtype=np.uint16)
    data[1, 2, 4] = 60000
    path = _write(tmp_path / "dn.tif", data)
    win, names = Window(0, 0, 5, 3), ["B02", "B03"]
    _, valid = open_scene(path, scale=1e-4).read(win, names)
    assert valid.all()
    _, valid = open_scene(path, scale=1.0).read(win, names)
    assert valid.sum() == 0  # 2000 is no reflectance either
    _, valid = open_scene(path, scale=0.01).read(win, names)
    assert not valid[2, 4] and valid.sum() == 14


def _write(path: Path, data: np.ndarray) -> Path:
    """A 4-band GeoTIFF (B02, B03, B04, B08) of ``data``'s dtype."""
    profile = {
        "driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": 4,
        "dtype": data.dtype.name, "crs": "EPSG:32633",
        "transform": from_origin(500000, 4500000, 10, 10),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        ds.descriptions = ("B02", "B03", "B04", "B08")
    return path
