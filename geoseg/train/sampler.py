"""Where training chips are cut: their size, scene and origin, from seeded generators.

Chip ``i`` of epoch ``e`` depends only on ``(seed, e, i)``, so a resumed run or a DataLoader with
workers sees the same chips. Works on label arrays alone (one per scene, on the scene grid), so it
is plain numpy and knows nothing of rasters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.train.config import TrainConfig

#: Every n-th pixel of a class is a possible chip anchor: keeps the index small (chips overlap
#: anyway) while every region of a class stays reachable.
ANCHOR_STEP = 4


@dataclass(frozen=True)
class SourcePlan:
    """An extra training source: its scenes (indices into the sampler's list), its share of
    batches, and for a patch source the chip size of its batches (``None``: the plan's sizes)."""

    scenes: tuple[int, ...]
    weight: float
    patch: int | None = None
    scene_weights: tuple[float, ...] = ()  # per scene, times its labelled pixels (empty: all 1)


@dataclass(frozen=True)
class ChipPlan:
    """An epoch's chips: how many, how large, and how they are drawn."""

    size: int = 256  # chip size when ``sizes`` is empty
    length: int = 800  # chips per epoch
    seed: int = 0
    balance: float = 0.0  # share of chips drawn around a pixel of a uniformly picked class
    n_classes: int = 0  # classes the balanced draw picks from
    sizes: tuple[int, ...] = ()  # one size per batch drawn from these (empty: ``size``)
    batch_size: int = 1  # chips of a batch share their size, so they stack
    # Extra sources; the scenes in none of them form the main source, which keeps the rest.
    sources: tuple[SourcePlan, ...] = ()
    stratified: bool = False  # each epoch's batches split among sources exactly by weight

    @classmethod
    def from_config(cls, cfg: TrainConfig, sources: Sequence[SourcePlan] = ()) -> ChipPlan:
        return cls(
            size=cfg.chip_size,
            length=cfg.chips_per_epoch,
            seed=cfg.seed,
            balance=cfg.balanced_chips,
            n_classes=len(cfg.classes),
            sizes=tuple(cfg.chip_sizes),
            batch_size=cfg.batch_size,
            sources=tuple(sources),
            stratified=cfg.stratify_sources,
        )


@dataclass
class _Source:
    """Scenes drawn together: global indices, their probabilities, class anchors, patch size."""

    index: np.ndarray
    p: np.ndarray
    anchors: list[tuple[np.ndarray, np.ndarray]]
    patch: int | None = None


class ChipSampler:
    """Draws chip windows over scenes given by their label arrays.

    Scenes are drawn in proportion to their labelled pixels. With ``balance`` > 0 that share of
    chips is instead drawn around a pixel of a class picked uniformly among the classes present
    (class-aware sampling, Shen et al. 2016): rare classes such as grass or shrub are seen in
    context far more often than their pixel share would allow. With extra sources, each batch
    first draws its source by the sources' weights (its own generator, keyed by the batch), then
    its chips draw scenes of that source only; a chip never spans two scenes.
    """

    def __init__(self, labels: Sequence[np.ndarray], plan: ChipPlan) -> None:
        self.plan = plan
        self.shapes = [(int(a.shape[0]), int(a.shape[1])) for a in labels]
        labelled = np.array([(a != NODATA).sum() for a in labels], dtype=np.float64)
        extra = {k for src in plan.sources for k in src.scenes}
        main = [k for k in range(len(labels)) if k not in extra]
        plans = [SourcePlan(tuple(main), 1 - sum(s.weight for s in plan.sources)), *plan.sources]
        self.sources: list[_Source] = []
        for src in plans:
            index = np.asarray(src.scenes, dtype=np.int64)
            w = labelled[index] * (np.asarray(src.scene_weights) if src.scene_weights else 1.0)
            if w.sum() == 0:
                where = "the training scenes" if src is plans[0] else "an extra source"
                raise InputError(f"no labelled pixels in {where}", None, "check the labels")
            subset = [labels[k] for k in index]
            anchors = class_anchors(subset, plan.n_classes) if plan.balance > 0 else []
            anchors = [(index[where], flat) for where, flat in anchors]
            self.sources.append(_Source(index, w / w.sum(), anchors, src.patch))
        self.weights = np.array([s.weight for s in plans], dtype=np.float64)
        self.p = self.sources[0].p  # the main source's scene probabilities
        self._stratum: tuple[int, np.ndarray] | None = None  # (epoch, each batch's source)

    def rng(self, epoch: int, i: int) -> np.random.Generator:
        """The generator of chip ``i`` of ``epoch``: its origin draws, then its augmentations."""
        return np.random.default_rng([self.plan.seed, epoch, i])

    def source(self, epoch: int, i: int) -> int:
        """Chip ``i``'s source (0: the main one), one per batch, drawn by the sources' weights."""
        if not self.plan.sources:
            return 0
        if self.plan.stratified:
            return int(self.epoch_sources(epoch)[i // self.plan.batch_size])
        rng = np.random.default_rng([self.plan.seed, epoch, i // self.plan.batch_size, 2])
        return int(rng.choice(len(self.weights), p=self.weights / self.weights.sum()))

    def epoch_sources(self, epoch: int) -> np.ndarray:
        """Each batch's source in ``epoch`` when stratified: every source gets its weight's share
        of the batches (largest remainders), in a seeded random order."""
        if self._stratum is not None and self._stratum[0] == epoch:
            return self._stratum[1]
        n = -(-self.plan.length // self.plan.batch_size)
        share = self.weights / self.weights.sum() * n
        counts = np.floor(share).astype(np.int64)
        counts[np.argsort(counts - share, kind="stable")[: n - counts.sum()]] += 1
        order = np.repeat(np.arange(len(counts)), counts)
        np.random.default_rng([self.plan.seed, epoch, 3]).shuffle(order)
        self._stratum = (epoch, order)
        return order

    def size(self, epoch: int, i: int, source: int = 0) -> int:
        """Chip ``i``'s size: one per batch (a batch stacks equal chips), drawn from ``sizes``;
        for a patch source at most its patch size."""
        size = self.plan.size
        if self.plan.sizes:
            rng = np.random.default_rng([self.plan.seed, epoch, i // self.plan.batch_size, 1])
            size = self.plan.sizes[int(rng.integers(len(self.plan.sizes)))]
        patch = self.sources[source].patch
        return size if patch is None else min(size, patch)

    def window(self, rng: np.random.Generator, size: int, source: int = 0) -> tuple[int, Window]:
        """A scene index and a chip window (clipped to the scene) drawn from ``rng``."""
        src = self.sources[source]
        if src.anchors and rng.random() < self.plan.balance:
            k, r, c = self._around_class(rng, size, src)
        else:
            k, r, c = self._by_pixels(rng, size, src)
        h, w = self.shapes[k]
        return k, Window(c, r, min(size, w - c), min(size, h - r))

    def _by_pixels(self, rng: np.random.Generator, size: int, src: _Source) -> tuple[int, int, int]:
        """A scene drawn by its share of labelled pixels and a chip origin anywhere in it."""
        k = int(src.index[int(rng.choice(len(src.index), p=src.p))])
        h, w = self.shapes[k]
        r = int(rng.integers(0, max(h - size, 0) + 1))
        c = int(rng.integers(0, max(w - size, 0) + 1))
        return k, r, c

    def _around_class(
        self, rng: np.random.Generator, size: int, src: _Source
    ) -> tuple[int, int, int]:
        """A scene and chip origin whose chip holds a pixel of a uniformly drawn class (placed at
        a random position in the chip, so rare pixels are not always at its centre)."""
        where, flat = src.anchors[int(rng.integers(len(src.anchors)))]
        j = int(rng.integers(len(flat)))
        k = int(where[j])
        h, w = self.shapes[k]
        pr, pc = divmod(int(flat[j]), w)
        r = min(max(pr - int(rng.integers(0, size)), 0), max(h - size, 0))
        c = min(max(pc - int(rng.integers(0, size)), 0), max(w - size, 0))
        return k, r, c


def class_anchors(
    labels: Sequence[np.ndarray], n_classes: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per class present: (scene index, flat pixel index) of its anchor pixels."""
    out = []
    for k in range(n_classes):
        flats = [np.flatnonzero(a.ravel() == k)[::ANCHOR_STEP] for a in labels]
        if sum(len(f) for f in flats) == 0:
            continue
        where = np.concatenate([np.full(len(f), i, dtype=np.int32) for i, f in enumerate(flats)])
        out.append((where, np.concatenate(flats)))
    return out
