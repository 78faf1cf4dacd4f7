"""Training data: scenes paired with labels, cut into random chips of model input.

A label is a raster (aligned onto the image grid with nearest resampling when its grid differs) or a
vector file (GeoPackage/GeoJSON polygons with a class column, rasterised onto the image grid). Model
input is built by :func:`features`, the same computation as ``Predictor.features``, so a network
sees identical numbers in training and in ``geoseg classify``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import torch
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.features import rasterize
from rasterio.windows import Window
from torch.utils.data import Dataset

from geoseg.classes import ClassInfo
from geoseg.errors import InputError
from geoseg.io.geotiff import open_scene
from geoseg.io.grid import Grid, on_grid
from geoseg.io.scene import Scene
from geoseg.models.inputs import features
from geoseg.train.transforms import d4, jitter

IGNORE = 255
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
#: Scenes up to this many pixels are read once and kept in memory; larger ones are read per chip.
CACHE_PIXELS = 4_000_000


def find_scenes(paths: Sequence[Path], label_name: str = "label.tif") -> list[tuple[Path, Path]]:
    """``(image, label)`` pairs: a crop folder holding ``label_name``, or a folder of them."""
    pairs: list[tuple[Path, Path]] = []
    for path in paths:
        if not path.exists():
            raise InputError("training data not found", path, "give crop folders with labels")
        if path.is_dir() and (path / label_name).is_file():
            pairs.append((path, path / label_name))
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_dir() and (p / label_name).is_file())
            if not found:
                raise InputError(
                    f"no crop folder with {label_name} here",
                    path,
                    "give folders holding band rasters and a label raster or vector file",
                )
            pairs += [(p, p / label_name) for p in found]
        else:
            raise InputError(
                "a training scene must be a folder (band rasters + label)", path, "see README"
            )
    return pairs


def read_label(
    label: Path, grid: Grid, classes: Sequence[ClassInfo], column: str = "class"
) -> np.ndarray:
    """Label ids ``(h, w)`` uint8 on ``grid``; 255 where unlabelled or not a known class."""
    if label.suffix.lower() in VECTOR_SUFFIXES:
        return _rasterise(label, grid, classes, column)
    try:
        with rasterio.open(label) as ds:
            src = on_grid(ds, grid, Resampling.nearest)
            raw = src.read(1, masked=True)
            if src is not ds:
                src.close()
    except RasterioError as exc:
        raise InputError("cannot read label raster", label, str(exc)) from exc
    values = np.ma.filled(raw.astype(np.int64), IGNORE)
    out = np.full(values.shape, IGNORE, dtype=np.uint8)
    known = (values >= 0) & (values < len(classes))
    out[known] = values[known]
    return out


def _rasterise(label: Path, grid: Grid, classes: Sequence[ClassInfo], column: str) -> np.ndarray:
    try:
        frame = gpd.read_file(label)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError("cannot read vector labels", label, str(exc)) from exc
    if column not in frame.columns:
        raise InputError(
            f"vector labels have no column {column!r} (columns: {', '.join(frame.columns)})",
            label,
            "set label_column to the column holding class ids or names",
        )
    if frame.crs is None:
        raise InputError("vector labels have no CRS", label, "save them with a CRS")
    frame = frame.to_crs(grid.crs)
    by_name = {c.name: c.id for c in classes}
    shapes = []
    for geom, value in zip(frame.geometry, frame[column], strict=True):
        cid = by_name.get(value) if isinstance(value, str) else value
        if geom is None or cid is None or not 0 <= int(cid) < len(classes):
            continue
        shapes.append((geom, int(cid)))
    if not shapes:
        return np.full((grid.height, grid.width), IGNORE, dtype=np.uint8)
    return rasterize(
        shapes,
        out_shape=(grid.height, grid.width),
        transform=grid.transform,
        fill=IGNORE,
        dtype="uint8",
    )


@dataclass
class LabelledScene:
    """A scene, its labels on the scene grid, and (when small) its reflectance held in memory."""

    scene: Scene
    label: np.ndarray
    names: list[str]
    _cache: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        image: Path,
        label: Path,
        names: list[str],
        classes: Sequence[ClassInfo],
        column: str = "class",
    ) -> LabelledScene:
        scene = open_scene(image)
        scene.require(names)
        return cls(scene, read_label(label, scene.grid, classes, column), names)

    @property
    def shape(self) -> tuple[int, int]:
        return self.scene.shape

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reflectance, validity and label for a window inside the scene."""
        r, c, h, w = int(window.row_off), int(window.col_off), int(window.height), int(window.width)
        if self._cache is None and self.shape[0] * self.shape[1] <= CACHE_PIXELS:
            full = Window(0, 0, self.shape[1], self.shape[0])
            self._cache = self.scene.read(full, self.names)
        if self._cache is not None:
            refl, valid = (
                self._cache[0][:, r : r + h, c : c + w],
                self._cache[1][r : r + h, c : c + w],
            )
            refl, valid = refl.copy(), valid.copy()
        else:
            refl, valid = self.scene.read(window, self.names)
        label = self.label[r : r + h, c : c + w].copy()
        label[~valid] = IGNORE
        return refl, valid, label


def class_counts(scenes: Sequence[LabelledScene], n_classes: int) -> np.ndarray:
    counts = np.zeros(n_classes, dtype=np.int64)
    for s in scenes:
        counts += np.bincount(s.label[s.label != IGNORE], minlength=n_classes)[:n_classes]
    return counts


def normalisation(
    scenes: Sequence[LabelledScene],
    bands: Sequence[str],
    index_names: Sequence[str],
    step: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of bands + indices over valid pixels (every ``step``-th pixel)."""
    zero = np.zeros(len(bands) + len(index_names), dtype=np.float32)
    one = np.ones_like(zero)
    total = np.zeros(len(zero), dtype=np.float64)
    total2 = np.zeros(len(zero), dtype=np.float64)
    n = 0
    for s in scenes:
        h, w = s.shape
        for r in range(0, h, 1024):
            for c in range(0, w, 1024):
                win = Window(c, r, min(1024, w - c), min(1024, h - r))
                refl, valid, _ = s.read(win)
                x = features(refl, valid, bands, index_names, zero, one)[:, ::step, ::step]
                v = valid[::step, ::step]
                px = x[:, v].astype(np.float64)
                total += px.sum(axis=1)
                total2 += (px**2).sum(axis=1)
                n += px.shape[1]
    if n == 0:
        raise InputError("training scenes hold no valid pixels", None, "check the data")
    mean = total / n
    std = np.sqrt(np.maximum(total2 / n - mean**2, 1e-12))
    return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


class ChipDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """``length`` random chips per epoch; chip ``i`` of epoch ``e`` depends only on (seed, e, i).

    Scenes are drawn in proportion to their labelled pixels; chips with under 10 % labelled pixels
    are redrawn (a few times) so steps are not wasted on nodata. With ``balance`` > 0 that share
    of chips is instead drawn around a pixel of a class picked uniformly among the classes present
    (class-aware sampling, Shen et al. 2016): rare classes such as grass or shrub are seen in
    context far more often than their pixel share would allow.
    """

    def __init__(
        self,
        scenes: Sequence[LabelledScene],
        bands: Sequence[str],
        index_names: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        chip_size: int = 256,
        length: int = 800,
        seed: int = 0,
        d4: bool = True,
        gain: float = 0.05,
        brightness: float = 0.05,
        offset: float = 0.005,
        balance: float = 0.0,
        n_classes: int = 0,
        sizes: Sequence[int] = (),
        batch_size: int = 1,
    ) -> None:
        self.scenes = list(scenes)
        self.bands, self.index_names = list(bands), list(index_names)
        self.mean, self.std = mean, std
        self.chip = chip_size
        self.sizes, self.batch_size = list(sizes), batch_size
        self.length = length
        self.seed = seed
        self.epoch = 0
        self.d4 = d4
        self.jitter = (gain, brightness, offset)
        labelled = np.array([(s.label != IGNORE).sum() for s in self.scenes], dtype=np.float64)
        if labelled.sum() == 0:
            raise InputError("no labelled pixels in the training scenes", None, "check the labels")
        self.p = labelled / labelled.sum()
        self.balance = balance
        self._by_class = _class_pixels(self.scenes, n_classes) if balance > 0 else []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def chip_size(self, i: int) -> int:
        """Chip ``i``'s size: one per batch (a batch stacks equal chips), drawn from ``sizes``."""
        if not self.sizes:
            return self.chip
        rng = np.random.default_rng([self.seed, self.epoch, i // self.batch_size, 1])
        return self.sizes[int(rng.integers(len(self.sizes)))]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        size = self.chip_size(i)
        for _ in range(5):
            if self._by_class and rng.random() < self.balance:
                scene, r, c = self._around_class(rng, size)
            else:
                scene, r, c = self._by_pixels(rng, size)
            h, w = scene.shape
            win = Window(c, r, min(size, w - c), min(size, h - r))
            refl, valid, label = scene.read(win)
            if (label != IGNORE).mean() >= 0.1:
                break
        if any(self.jitter):
            refl = jitter(refl, valid, rng, *self.jitter)
        x = features(refl, valid, self.bands, self.index_names, self.mean, self.std)
        x, label = _pad(x, label, size)
        if self.d4:
            x, label = d4(x, label, int(rng.integers(0, 8)))
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(
            np.ascontiguousarray(label).astype(np.int64)
        )

    def _by_pixels(self, rng: np.random.Generator, size: int) -> tuple[LabelledScene, int, int]:
        """A scene drawn by its share of labelled pixels and a chip origin anywhere in it."""
        scene = self.scenes[int(rng.choice(len(self.scenes), p=self.p))]
        h, w = scene.shape
        r = int(rng.integers(0, max(h - size, 0) + 1))
        c = int(rng.integers(0, max(w - size, 0) + 1))
        return scene, r, c

    def _around_class(self, rng: np.random.Generator, size: int) -> tuple[LabelledScene, int, int]:
        """A scene and chip origin whose chip holds a pixel of a uniformly drawn class (placed at
        a random position in the chip, so rare pixels are not always at its centre)."""
        where, flat = self._by_class[int(rng.integers(len(self._by_class)))]
        j = int(rng.integers(len(flat)))
        scene = self.scenes[int(where[j])]
        h, w = scene.shape
        pr, pc = divmod(int(flat[j]), w)
        r = min(max(pr - int(rng.integers(0, size)), 0), max(h - size, 0))
        c = min(max(pc - int(rng.integers(0, size)), 0), max(w - size, 0))
        return scene, r, c


#: Every n-th pixel of a class is a possible chip anchor: keeps the index small (chips overlap
#: anyway) while every region of a class stays reachable.
ANCHOR_STEP = 4


def _class_pixels(
    scenes: Sequence[LabelledScene], n_classes: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per class present: (scene index, flat pixel index) of its anchor pixels."""
    out = []
    for k in range(n_classes):
        flats = [np.flatnonzero(s.label.ravel() == k)[::ANCHOR_STEP] for s in scenes]
        if sum(len(f) for f in flats) == 0:
            continue
        where = np.concatenate([np.full(len(f), i, dtype=np.int32) for i, f in enumerate(flats)])
        out.append((where, np.concatenate(flats)))
    return out


def _pad(x: np.ndarray, label: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad a chip cut at a scene edge: zero input (as nodata at inference), ignored label."""
    h, w = label.shape
    if h == size and w == size:
        return x, label
    xp = np.zeros((x.shape[0], size, size), dtype=x.dtype)
    lp = np.full((size, size), IGNORE, dtype=label.dtype)
    xp[:, :h, :w], lp[:h, :w] = x, label
    return xp, lp
