"""Clouds and cloud shadows, found by ukis-csmask's U-Net (DLR; Wieland et al. 2019,
doi:10.1016/j.rse.2019.05.022; Apache-2.0; its ONNX models ship inside the wheel, so it runs
offline) on any optical scene holding B02, B03, B04 and B08 (B11 and B12 too: the better model).

The land-cover model calls clouds bare, built or snow, and cloud shadows water. s2cloudless, the
mask before this one, needed B01/B09/B10 (Level-1C products only) and masked dark clear forest;
this network reads the bands every input has, Level-1C and Level-2A alike (its model per level),
and also finds shadows. It is run the way it was trained, not the way its package runs it:

* at 30 m (cells of 3 × 3 pixels of 10 m): at 10 m it calls 12–25 % of clear city crops cloud;
* on cells aligned to the CRS (multiples of 30 m) and on 256-cell tiles aligned to a CRS-wide
  lattice, so a sub-crop or an area of interest gets the same tiles, hence the same mask, away
  from its edges (cells and tiles aligned to a crop's corner moved with every cut);
* nodata and the land past the scene's edge filled with the nearest valid cell, never fed to the
  network as zeros (which it reads as dark shadow);
* reflectance from the scene's own scale and offset (the −1000 DN of baseline ≥ 04.00 removed);
* shadows kept only where a detected cloud can cast them (:mod:`geoseg.io.sun`): the network
  calls dark forested slopes shadow (15 % of the Norcia crop) when no cloud is anywhere near.

The scene is read and predicted one strip of tiles at a time (memory: a strip, not the scene);
what is kept is one byte per 30 m cell (a full tile: 3660² cells, 13 MB).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.windows import Window

from geoseg.errors import InputError
from geoseg.io import sun
from geoseg.io.cloud_input import Scene as _Scene
from geoseg.io.cloud_input import strips
from geoseg.io.grid import Grid
from geoseg.io.masks import MaskSource
from geoseg.tiling import mirror

#: The bands of the 4-band and the 6-band models, in their order.
BANDS_4 = ("B02", "B03", "B04", "B08")
BANDS_6 = (*BANDS_4, "B11", "B12")
RESOLUTION_M = 30.0
TILE = 256  # the network's input size, cells
STRIDE = 240  # tiles overlap by 16 cells, blended linearly
CLEAR, CLOUD, SHADOW, NO_DATA = 0, 1, 2, 255
#: How the mask is made, as runs describe it (in a run's identity: other settings, other chunks).
DETECTOR = "ukis-csmask 1.0.0 U-Net at 30 m, CRS-aligned tiles, shadows cast by detected clouds"
#: Network runs at once (one thread each): each holds its own activations, so not one per core
#: on a many-core machine.
_RUNS = 4


def model_bands(scene: _Scene) -> tuple[str, ...] | None:
    """The bands the detector reads from ``scene`` (the 6-band model when B11 and B12 are
    there), or None when it lacks B02, B03, B04 or B08."""
    if all(b in scene.bands for b in BANDS_6):
        return BANDS_6
    if all(b in scene.bands for b in BANDS_4):
        return BANDS_4
    return None


def cloud_source() -> MaskSource:
    """The mask entry of detected clouds and shadows: computed from the scene's bands."""
    return MaskSource("clouds", "", detector=DETECTOR)


def detectable(scene: _Scene) -> bool:
    """Whether the detector can run on ``scene``."""
    return model_bands(scene) is not None


def level(scene: _Scene) -> str:
    """``l2a`` for surface reflectance (a Level-2A product, or a file whose metadata carries
    Level-2A offsets), else ``l1c``: each has its own model."""
    stated = scene.provenance.get("S2_PROCESSING_LEVEL", "")
    if stated:
        return "l2a" if stated == "L2A" else "l1c"
    keys = " ".join(scene.tags).upper()
    values = " ".join(str(v) for v in scene.tags.values()).upper()
    return "l2a" if "BOA_ADD_OFFSET" in keys or "LEVEL-2A" in values else "l1c"


@dataclass(frozen=True)
class CoarseMask:
    """Cloud/shadow classes on 30 m cells: scene pixel ``(r, c)`` lies in cell
    ``((r + row_off) // factor, (c + col_off) // factor)``."""

    factor: int
    classes: np.ndarray = field(repr=False)  # uint8: CLEAR, CLOUD, SHADOW, NO_DATA
    row_off: int = 0
    col_off: int = 0

    def labels(self, window: Window) -> np.ndarray:
        """The classes on a window of the scene grid (nearest: a cell labels its pixels)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        return self.labels_at(np.arange(r0, r0 + h), np.arange(c0, c0 + w))

    def labels_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The classes at scene rows × columns (a decimated quick look samples a few)."""
        r = np.clip((rows + self.row_off) // self.factor, 0, self.classes.shape[0] - 1)
        c = np.clip((cols + self.col_off) // self.factor, 0, self.classes.shape[1] - 1)
        return self.classes.take(r, axis=0).take(c, axis=1)

    def window(self, window: Window) -> np.ndarray:
        """Masked pixels (cloud or shadow) of a window of the scene grid."""
        labels = self.labels(window)
        return (labels == CLOUD) | (labels == SHADOW)

    def shares(self) -> dict[str, float]:
        """Percent of the cells holding data that are cloud and shadow."""
        n = max(int((self.classes != NO_DATA).sum()), 1)
        return {
            "cloud_pct": 100.0 * int((self.classes == CLOUD).sum()) / n,
            "shadow_pct": 100.0 * int((self.classes == SHADOW).sum()) / n,
        }

    @property
    def fraction(self) -> float:
        """Share of the cells holding data that is masked."""
        s = self.shares()
        return (s["cloud_pct"] + s["shadow_pct"]) / 100.0


def detect(scene: _Scene) -> CoarseMask:
    """Clouds and the shadows they cast over the whole scene, on CRS-aligned 30 m cells."""
    bands = model_bands(scene)
    if bands is None:
        raise InputError(
            f"cloud detection needs {', '.join(BANDS_4)} (found: {', '.join(scene.bands)})",
            scene.source,
            "use --cloud-mask none, or --mask FILE",
        )
    coarse, factor, row_off, col_off = detector_grid(scene.grid)
    net = _Network(bands, level(scene))
    classes = np.full((coarse.height, coarse.width), NO_DATA, dtype=np.uint8)
    carry: tuple[np.ndarray, np.ndarray] | None = None  # sums of the rows the next strip shares
    first_row, first_col = _lattice(coarse)
    for r0, x, valid in strips(scene, bands, coarse, first_row, TILE, STRIDE):
        acc, weight = net.strip(x, valid, first_col)
        if carry is not None:
            acc[:, : TILE - STRIDE] += carry[0]
            weight[: TILE - STRIDE] += carry[1]
        done = TILE if r0 + STRIDE >= coarse.height else STRIDE  # rows no later strip touches
        carry = (acc[:, done:], weight[done:])
        top, bottom = max(r0, 0), min(r0 + done, coarse.height)
        rows = slice(top - r0, bottom - r0)
        labels = acc[:, rows].argmax(axis=0).astype(np.uint8)
        classes[top:bottom] = np.where(valid[rows], labels, NO_DATA)
    return CoarseMask(factor, keep_cast_shadows(scene, coarse, classes), row_off, col_off)


def keep_cast_shadows(scene: _Scene, coarse: Grid, classes: np.ndarray) -> np.ndarray:
    """``classes`` with shadows no detected cloud can cast turned clear."""
    shadow = classes == SHADOW
    if not shadow.any():
        return classes
    cast = sun.cast_by_clouds(
        classes == CLOUD, coarse.res[0] * _metres(coarse), sun_angles(scene), _north_up(coarse)
    )
    out = classes.copy()
    out[shadow & ~cast] = CLEAR
    return out


def sun_angles(scene: _Scene) -> tuple[float, float] | None:
    """(zenith, azimuth) of the scene: from the product, else from its date and place."""
    stated = sun.sun_from_metadata(scene.provenance)
    if stated is not None:
        return stated
    from geoseg.dates import LAST_RESORT_TAG, raster_date

    tags = {k: v for k, v in {**scene.tags, **scene.provenance}.items() if k != LAST_RESORT_TAG}
    day = raster_date(scene.source, tags, [b.path for b in scene.bands.values()])
    if day is None:
        return None
    from rasterio.warp import transform as warp

    g = scene.grid
    x, y = g.transform * (g.width / 2, g.height / 2)
    lon, lat = warp(g.crs, "EPSG:4326", [x], [y])
    return sun.sun_at_overpass(day, lat[0], lon[0])


def detector_grid(grid: Grid) -> tuple[Grid, int, int, int]:
    """The 30 m cells over ``grid``, their corners on multiples of the cell size in the CRS;
    the scene pixels a cell spans (a side) and the scene's offset into the first cell."""
    t = grid.transform
    factor = max(1, round(RESOLUTION_M / (grid.res[0] * _metres(grid))))
    cell_x, cell_y = t.a * factor, t.e * factor
    col_off = round(t.c / t.a) % factor if _north_up(grid) else 0
    row_off = round(t.f / t.e) % factor if _north_up(grid) else 0
    origin = t * (-col_off, -row_off)
    coarse = Grid(
        grid.crs,
        Affine(cell_x, t.b, origin[0], t.d, cell_y, origin[1]),
        math.ceil((grid.width + col_off) / factor),
        math.ceil((grid.height + row_off) / factor),
    )
    return coarse, factor, row_off, col_off


def _metres(grid: Grid) -> float:
    """Metres per CRS unit (degrees: at the equator; the cell size need not be exact)."""
    return 111_320.0 if grid.crs.is_geographic else float(grid.crs.linear_units_factor[1])


def _north_up(grid: Grid) -> bool:
    return grid.transform.b == 0 and grid.transform.d == 0 and grid.transform.e < 0


def _lattice(coarse: Grid) -> tuple[int, int]:
    """Where the CRS-wide lattice of tiles starts, in cells of ``coarse`` (≤ 0): tiles begin at
    multiples of :data:`STRIDE` cells counted from the CRS origin, whatever the scene's cut."""
    t = coarse.transform
    if not _north_up(coarse):
        return 0, 0
    col0, row0 = round(t.c / t.a), round(t.f / t.e)
    return -(row0 % STRIDE), -(col0 % STRIDE)


class _Network:
    """The ONNX model of one band set and level, run tile by tile across a strip."""

    def __init__(self, bands: tuple[str, ...], product_level: str) -> None:
        import onnxruntime as ort

        name = f"model_{len(bands)}b_{product_level}"
        spec = importlib.util.find_spec("ukis_csmask")  # its models, not its code
        if spec is None or spec.origin is None:
            raise InputError(
                "the cloud mask needs the ukis-csmask package",
                None,
                "pip install ukis-csmask==1.0.0, or use --cloud-mask none",
            )
        folder = Path(spec.origin).parent
        stats = json.loads((folder / f"{name}.json").read_text())["data"]["dataset_statistics"]
        self.mean = np.asarray(stats["img"][0], dtype=np.float32)[:, None, None]
        self.std = np.asarray(stats["img"][1], dtype=np.float32)[:, None, None]
        # One thread a run, runs in parallel (one a core): 0.12 CPU s a tile where one run on
        # two threads took 0.16 (bench/results/cpu2_csmask_cost_before_after_2026-12-07.json).
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no idle burn
        self.session = ort.InferenceSession(
            str(folder / f"{name}.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        self.input = self.session.get_inputs()[0].name

    def strip(
        self, x: np.ndarray, valid: np.ndarray, first_col: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weighted sums of class probabilities ``(3, TILE, width)`` over a strip and the sums
        of weights: tiles on the lattice from ``first_col`` (≤ 0) weighted by ramps falling
        over their overlap (the next strip adds its share); tiles without data are not run."""
        width = x.shape[2]
        z = (x - self.mean) / self.std
        acc = np.zeros((3, TILE, width), dtype=np.float32)
        weight = np.zeros((TILE, width), dtype=np.float32)
        ramp = _ramp()
        starts = [
            c for c in range(first_col, width, STRIDE) if valid[:, max(c, 0) : c + TILE].any()
        ]
        with ThreadPoolExecutor(min(os.cpu_count() or 1, _RUNS)) as pool:
            probs = pool.map(self._probs, [_tile(z, c) for c in starts])
            for c, p in zip(starts, probs, strict=True):
                a, b = max(c, 0), min(c + TILE, width)
                acc[:, :, a:b] += p[:, :, a - c : b - c] * ramp[:, a - c : b - c]
                weight[:, a:b] += ramp[:, a - c : b - c]
        return acc, weight

    def _probs(self, tile: np.ndarray) -> np.ndarray:
        """Class probabilities ``(3, TILE, TILE)`` of one tile (the session is thread-safe)."""
        logits = self.session.run(None, {self.input: tile[None]})[0][0]
        probs = np.exp(logits - logits.max(axis=0, keepdims=True))
        return probs / probs.sum(axis=0, keepdims=True)


def _tile(z: np.ndarray, c: int) -> np.ndarray:
    """Columns ``c .. c + TILE`` of a strip, the ones off its sides reflected at its edges."""
    return np.ascontiguousarray(z[:, :, mirror(c, TILE, z.shape[2])])


def _ramp() -> np.ndarray:
    """Tile weights: 1 inside, falling linearly over the overlap; two neighbours sum to 1."""
    overlap = TILE - STRIDE
    one = np.minimum(
        1.0, np.minimum(np.arange(1, TILE + 1), np.arange(TILE, 0, -1)) / (overlap + 1)
    )
    return np.outer(one, one).astype(np.float32)
