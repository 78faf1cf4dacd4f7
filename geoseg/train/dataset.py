"""Training data: scenes paired with labels, cut into chips of model input.

Model input is built by :func:`~geoseg.models.inputs.features`, the same computation as
``Predictor.features``, so a network sees identical numbers in training and in ``geoseg
classify``. Where chips are cut is the sampler's job (:mod:`geoseg.train.sampler`), how they are
augmented the transforms' (:mod:`geoseg.train.transforms`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rasterio.windows import Window
from torch.utils.data import Dataset

from geoseg.classes import NODATA, ClassInfo
from geoseg.errors import InputError
from geoseg.io.geotiff import open_scene
from geoseg.io.scene import Scene
from geoseg.models.inputs import features, read_bands
from geoseg.train.config import AugmentConfig, TrainConfig
from geoseg.train.labels import SOFT_NODATA, read_label, read_soft
from geoseg.train.sampler import ChipPlan, ChipSampler
from geoseg.train.transforms import geometric, radiometric

#: Scenes up to this many pixels are read once and kept in memory; larger ones are read per chip.
CACHE_PIXELS = 4_000_000
#: A chip with a smaller share of labelled pixels is redrawn (up to ``DRAWS`` times in all).
MIN_LABELLED = 0.1
DRAWS = 5


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


@dataclass
class LabelledScene:
    """A scene, its labels on the scene grid, and (when small) its reflectance held in memory."""

    scene: Scene
    label: np.ndarray
    names: list[str]
    soft: np.ndarray | None = None  # teacher probabilities (classes, h, w) uint8, 255 = none
    _cache: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        image: Path,
        label: Path,
        names: list[str],
        classes: Sequence[ClassInfo],
        column: str = "class",
        soft_name: str | None = None,
    ) -> LabelledScene:
        """``soft_name``: the teacher's probability raster beside ``label``, for distillation."""
        scene = open_scene(image)
        scene.require(names)
        hard = read_label(label, scene.grid, classes, column)
        soft = read_soft(label.parent / soft_name, scene.grid, len(classes)) if soft_name else None
        return cls(scene, hard, names, soft)

    @property
    def shape(self) -> tuple[int, int]:
        return self.scene.shape

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reflectance, validity and label (NODATA where invalid) for a window inside the scene."""
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
        label[~valid] = NODATA
        return refl, valid, label

    def read_soft(self, window: Window, valid: np.ndarray) -> np.ndarray | None:
        """The teacher's probabilities in ``window`` (255 where the image is invalid), if any."""
        if self.soft is None:
            return None
        r, c, h, w = int(window.row_off), int(window.col_off), int(window.height), int(window.width)
        soft = self.soft[:, r : r + h, c : c + w].copy()
        soft[:, ~valid] = SOFT_NODATA
        return soft


def open_scenes(cfg: TrainConfig, paths: Sequence[Path]) -> list[LabelledScene]:
    """The labelled scenes under ``paths``, reading the bands the config's input needs."""
    names = read_bands(cfg.bands, cfg.indices)
    return [
        LabelledScene.open(img, lab, names, cfg.classes, cfg.label_column)
        for img, lab in find_scenes(paths, cfg.label_name)
    ]


def class_counts(scenes: Sequence[LabelledScene], n_classes: int) -> np.ndarray:
    counts = np.zeros(n_classes, dtype=np.int64)
    for s in scenes:
        counts += np.bincount(s.label[s.label != NODATA], minlength=n_classes)[:n_classes]
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


@dataclass(frozen=True, eq=False)
class ModelInput:
    """What the network reads: bands, then indices, normalised channel by channel."""

    bands: Sequence[str]
    indices: Sequence[str]
    mean: np.ndarray
    std: np.ndarray

    def __call__(self, reflectance: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return features(reflectance, valid, self.bands, self.indices, self.mean, self.std)


class ChipDataset(Dataset[tuple[torch.Tensor, ...]]):
    """``plan.length`` chips per epoch, cut where the :class:`ChipSampler` says, augmented.

    A chip with under 10 % labelled pixels is redrawn (a few times) so steps are not wasted on
    nodata. One generator per chip serves its draws, then its augmentations, in that order.
    With ``min_confidence`` (distillation), an item is ``(input, label, soft)``: ``soft`` the
    teacher's probabilities (uint8, 255 = none), and the hard label only where the teacher's top
    probability reaches ``min_confidence``.
    """

    def __init__(
        self,
        scenes: Sequence[LabelledScene],
        inputs: ModelInput,
        plan: ChipPlan,
        augment: AugmentConfig | None = None,  # default: AugmentConfig's defaults
        min_confidence: float | None = None,  # distillation on: yield soft labels too
    ) -> None:
        self.scenes = list(scenes)
        self.inputs = inputs
        self.augment = augment if augment is not None else AugmentConfig()
        self.sampler = ChipSampler([s.label for s in self.scenes], plan)
        self.length = plan.length  # precise BN draws more chips than an epoch holds
        self.epoch = 0
        self.min_confidence = min_confidence

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        rng = self.sampler.rng(self.epoch, i)
        source = self.sampler.source(self.epoch, i)
        size = self.sampler.size(self.epoch, i, source)
        for _ in range(DRAWS):
            k, window = self.sampler.window(rng, size, source)
            refl, valid, label = self.scenes[k].read(window)
            if (label != NODATA).mean() >= MIN_LABELLED:
                break
        refl = radiometric(refl, valid, rng, self.augment, self.scenes[k].names)
        x, label = _pad(self.inputs(refl, valid), label, size)
        if self.min_confidence is None:
            x, label, _ = geometric(x, label, rng, self.augment)
            return _tensor(x), _tensor(label.astype(np.int64))
        soft = self.scenes[k].read_soft(window, valid)
        if soft is None:
            raise ValueError("distillation needs every training scene's teacher probabilities")
        soft = _pad_soft(soft, size)
        covered = (soft != SOFT_NODATA).any(axis=0)
        label[covered & (soft.max(axis=0) < self.min_confidence * 255)] = NODATA
        x, label, soft = geometric(x, label, rng, self.augment, soft)
        assert soft is not None
        return _tensor(x), _tensor(label.astype(np.int64)), _tensor(soft)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def _pad(x: np.ndarray, label: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad a chip cut at a scene edge: zero input (as nodata at inference), ignored label."""
    h, w = label.shape
    if h == size and w == size:
        return x, label
    xp = np.zeros((x.shape[0], size, size), dtype=x.dtype)
    lp = np.full((size, size), NODATA, dtype=label.dtype)
    xp[:, :h, :w], lp[:h, :w] = x, label
    return xp, lp


def _pad_soft(soft: np.ndarray, size: int) -> np.ndarray:
    h, w = soft.shape[1:]
    if h == size and w == size:
        return soft
    out = np.full((soft.shape[0], size, size), SOFT_NODATA, dtype=soft.dtype)
    out[:, :h, :w] = soft
    return out
