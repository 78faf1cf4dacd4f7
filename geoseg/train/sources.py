"""Where training scenes come from: ``train``, extra sources with their weights, the hold-out.

Extra sources (``extra:`` in the config) widen what training covers (rural crops, EuroSAT patches)
without letting their few pixels drown in, or swamp, the main split: each is drawn as a fixed share
of batches. The hold-out (``holdout:``) is a fixed list of crops and patches that is never trained
on, even where it sits inside ``train`` or an extra folder, and is scored at each validation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import yaml

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.models.inputs import read_bands
from geoseg.train.config import ExtraSource, TrainConfig
from geoseg.train.dataset import LabelledScene, find_scenes, open_scenes
from geoseg.train.sampler import SourcePlan

#: Network input sides must be multiples of this (five 2× downsamplings).
STRIDE = 32

Pairs = list[tuple[Path, Path]]


def holdout_items(cfg: TrainConfig) -> list[Path]:
    """The hold-out's crop and patch folders (``crops:`` then ``patches:``), as listed."""
    if cfg.holdout is None:
        return []
    file = cfg.holdout.file
    if not file.is_file():
        raise InputError("hold-out file not found", file, "set holdout to a YAML list of items")
    try:
        listed = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise InputError("cannot parse the hold-out file", file, "fix the YAML") from exc
    if not isinstance(listed, dict) or not set(listed) <= {"crops", "patches"}:
        raise InputError("a hold-out file holds crops: and patches: lists", file, "fix it")
    root = cfg.holdout.root or (cfg.train[0].parent if cfg.train else file.parent)
    items = [root / str(p) for key in ("crops", "patches") for p in listed.get(key) or []]
    missing = [p for p in items if not p.is_dir()]
    if missing:
        raise InputError("hold-out item not found", missing[0], "set holdout.root to the data root")
    return items


def _keep(pairs: Pairs, held: set[Path], drop: Sequence[str] = ()) -> tuple[Pairs, int]:
    """``pairs`` without hold-out items or folders named in ``drop``; and how many were held out."""
    outside = [(img, lab) for img, lab in pairs if img.resolve() not in held]
    return [(i, lab) for i, lab in outside if i.name not in drop], len(pairs) - len(outside)


def scene_weight(name: str, weights: Mapping[str, float]) -> float:
    """A scene's weight: its exact name's entry, else the first pattern it matches, else 1."""
    if name in weights:
        return weights[name]
    return next((w for key, w in weights.items() if fnmatchcase(name, key)), 1.0)


def training_pairs(
    cfg: TrainConfig, held: Sequence[Path]
) -> tuple[Pairs, list[tuple[ExtraSource, Pairs]], int]:
    """Main and per-source ``(image, label)`` pairs with the hold-out and exclusions taken out,
    and how many scenes the hold-out removed."""
    hold = {p.resolve() for p in held}
    main, removed = _keep(find_scenes(cfg.train, cfg.label_name), hold)
    extras = []
    for src in cfg.extra:
        pairs = find_scenes([src.path], cfg.label_name)
        names = [img.name for img, _ in pairs]
        unknown = sorted(
            key
            for key in {*src.exclude, *src.scene_weights}
            if not any(fnmatchcase(n, key) for n in names)
        )
        if unknown:
            raise InputError(f"no scene {unknown[0]!r} in this source", src.path, "fix its name")
        excluded = {n for n in names if any(fnmatchcase(n, k) for k in src.exclude)}
        dropped = [n for n in names if n in excluded or scene_weight(n, src.scene_weights) == 0]
        kept, n_held = _keep(pairs, hold, dropped)
        removed += n_held
        if not kept:
            raise InputError("every scene of an extra source is left out", src.path, "check it")
        extras.append((src, kept))
    if not main:
        raise InputError("no training scene left outside the hold-out", cfg.train[0], "check it")
    return main, extras, removed


def patch_size(scenes: Sequence[LabelledScene], path: Path) -> int:
    """The chip side for a patch source: its smallest patch side, down to a multiple of 32."""
    side = min(min(s.shape) for s in scenes) // STRIDE * STRIDE
    if side < STRIDE:
        raise InputError(f"patches smaller than {STRIDE} px", path, "use larger patches")
    return side


def open_training(
    cfg: TrainConfig, say: Callable[[str], None]
) -> tuple[list[LabelledScene], tuple[SourcePlan, ...], list[LabelledScene]]:
    """Training scenes (main first, then each extra source's), the sources' plans, and the
    hold-out scenes. Without extra sources or hold-out, exactly ``open_scenes(cfg, cfg.train)``."""
    if not cfg.extra and cfg.holdout is None:
        return open_scenes(cfg, cfg.train), (), []
    held = holdout_items(cfg)
    main, extras, removed = training_pairs(cfg, held)
    names = read_bands(cfg.bands, cfg.indices)
    soft = cfg.distill.name if cfg.distill else None

    def opened(pairs: Pairs, soft: str | None = None) -> list[LabelledScene]:
        return [
            LabelledScene.open(img, lab, names, cfg.classes, cfg.label_column, soft)
            for img, lab in pairs
        ]

    scenes = opened(main, soft)
    plans = []
    for src, pairs in extras:
        start, more = len(scenes), opened(pairs, soft)
        scenes += more
        plans.append(
            SourcePlan(
                scenes=tuple(range(start, len(scenes))),
                weight=src.weight,
                patch=patch_size(more, src.path) if src.patches else None,
                scene_weights=tuple(scene_weight(img.name, src.scene_weights) for img, _ in pairs),
            )
        )
        say(f"extra source {src.path.name}: {len(more)} scenes, {src.weight:.0%} of batches")
    hold = opened([(p, p / cfg.label_name) for p in held])
    if held:
        say(f"hold-out: {len(hold)} items, {removed} of them taken out of the training scenes")
    return scenes, tuple(plans), hold


def sampled_counts(
    scenes: Sequence[LabelledScene], plans: Sequence[SourcePlan], n_classes: int
) -> np.ndarray:
    """Class pixels as training draws them: each source's class histogram scaled to its share of
    batches (times the total), so class weights follow what the loss sees, not the raw pixels.

    A source's scenes count by their scene weights, as the sampler draws them. Rounded to whole
    pixels. Without extra sources, the plain counts.
    """
    per_scene = np.stack(
        [np.bincount(s.label[s.label != NODATA], minlength=n_classes)[:n_classes] for s in scenes]
    ).astype(np.float64)
    if not plans:
        return per_scene.sum(0).astype(np.int64)
    extra = {k for p in plans for k in p.scenes}
    main = SourcePlan(
        tuple(k for k in range(len(scenes)) if k not in extra), 1 - sum(p.weight for p in plans)
    )
    total = per_scene.sum()
    out = np.zeros(n_classes)
    for plan in (main, *plans):
        w = np.asarray(plan.scene_weights) if plan.scene_weights else np.ones(len(plan.scenes))
        hist = (per_scene[list(plan.scenes)] * w[:, None]).sum(0)
        out += plan.weight * total * hist / max(hist.sum(), 1.0)
    return np.rint(out).astype(np.int64)
