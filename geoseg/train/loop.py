"""The training run: setup, epochs (AdamW + LR schedule, AMP on CUDA), early stopping on
validation mIoU, a checkpoint per epoch, weight selection, and the bundle at the end.

:func:`train` only orchestrates; each step is a unit of its own (:mod:`~geoseg.train.setup`,
:mod:`~geoseg.train.checkpoint`, :mod:`~geoseg.train.selection`, :mod:`~geoseg.train.export`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader

from geoseg.engine.predict import resolve_device
from geoseg.models.bundle import Bundle
from geoseg.train.checkpoint import load_checkpoint, save_checkpoint
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import ChipDataset
from geoseg.train.export import export
from geoseg.train.fold import FOLD_CHIPS, fold_network
from geoseg.train.sampler import ChipPlan
from geoseg.train.selection import Progress, select_weights
from geoseg.train.setup import Parts, build_network, build_parts, prepare_data, seed_everything
from geoseg.train.validation import Scoring, Validation
from geoseg.train.warm_start import warm_start

log = logging.getLogger("geoseg.train")
Report = Callable[[str], None]
Batches = DataLoader[tuple[torch.Tensor, ...]]


def train(cfg: TrainConfig, report: Report | None = None) -> Bundle:
    """Train a network as configured and write its bundle to ``cfg.output``."""
    say = report or log.info
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    start = time.time()

    data = prepare_data(cfg, say)
    plan = ChipPlan.from_config(cfg, data.sources)
    distill = cfg.distill.min_confidence if cfg.distill else None
    chips = ChipDataset(data.train, data.inputs, plan, cfg.augment, distill)
    # Its own generator: each pass draws a base seed, which must not come from torch's global
    # one (that seeds the network's weights and is saved in checkpoints).
    generator = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(chips, batch_size=cfg.batch_size, shuffle=False, generator=generator)
    network = build_network(cfg, device)
    resuming = cfg.resume and cfg.checkpoint_path.is_file()
    if cfg.init is not None and not resuming:
        say(f"starting from {warm_start(network, cfg, chips, device)}")
    parts = build_parts(cfg, network, data.weights, cfg.epochs * len(loader), device)
    progress = _resume(cfg, parts, say) if resuming else Progress()
    progress.started = start
    names = [c.name for c in cfg.classes]
    val = Validation(data.val, data.inputs, names, cfg.min_class_share, device)
    held = Validation(data.holdout, data.inputs, names, cfg.min_class_share, device)
    select_on = {str(k): w for k, w in cfg.select_on.items()}
    scoring = Scoring(val, held if data.holdout else None, select_on)
    if scoring.combined:
        say(f"selection score: {scoring.rule()} (agreement with Dynamic World labels)")
    run_epochs(cfg, parts, chips, loader, scoring, progress, say)
    if progress.history:
        best = f"best epoch {progress.best_epoch} ({scoring.rule()} {progress.best_score:.4f})"
        say(f"{progress.stopped}; {best}")
    else:
        say("no epoch run: the starting weights are validated and written")
    select_weights(cfg, parts.network, parts.evaluated, progress, chips, scoring, say)
    network = parts.network
    if cfg.fold_image_pooling:
        network = fold_network(network, cfg, chips, device)
        say(f"image pooling folded (mean over {FOLD_CHIPS} chips of {cfg.tile_size} px)")
    return export(cfg, network, data, scoring, progress, say)


def _resume(cfg: TrainConfig, parts: Parts, say: Report) -> Progress:
    progress = load_checkpoint(cfg.checkpoint_path, cfg, parts)
    best = f"best score {progress.best_score:.4f}"
    say(f"resumed from {cfg.checkpoint_path} after epoch {progress.first_epoch - 1} ({best})")
    return progress


def run_epochs(
    cfg: TrainConfig,
    parts: Parts,
    chips: ChipDataset,
    loader: Batches,
    scoring: Scoring,
    progress: Progress,
    say: Report,
) -> None:
    """Epochs from ``progress.first_epoch`` until done, out of patience or out of time."""
    for epoch in range(progress.first_epoch, cfg.epochs):
        chips.set_epoch(epoch)
        t0 = time.time()
        loss = train_epoch(parts, loader, scoring.device)
        entry: dict[str, Any] = {
            "epoch": epoch,
            "loss": round(loss, 5),
            "lr": parts.scheduler.get_last_lr()[0],
            "train_s": round(time.time() - t0, 1),
        }
        fields, score = scoring.measure(parts.evaluated)
        entry.update(fields)
        improved = progress.record(
            entry, -entry["loss"] if score is None else score, parts.evaluated
        )
        elapsed = progress.elapsed
        say(_epoch_line(entry, scoring, improved, elapsed))
        save_checkpoint(cfg.checkpoint_path, cfg, parts, progress, elapsed)
        if progress.stale >= cfg.patience:
            progress.stopped = f"early stop: no selection-score gain for {cfg.patience} epochs"
            break
        if cfg.max_minutes is not None and elapsed > cfg.max_minutes * 60:
            progress.stopped = f"time budget of {cfg.max_minutes} min spent"
            break


def _epoch_line(entry: dict[str, Any], scoring: Scoring, improved: bool, elapsed: float) -> str:
    """One line per epoch: loss, learning rate, the splits' agreement with Dynamic World."""
    figures = scoring.describe(entry)
    return (
        f"epoch {entry['epoch']}: loss {entry['loss']:.5f}, lr {entry['lr']:.3g}, "
        f"{entry['train_s']} s{'; ' + figures if figures else ''}"
        f"{' *' if improved else ''} ({elapsed / 60:.1f} min)"
    )


def train_epoch(parts: Parts, loader: Batches, device: torch.device) -> float:
    """One pass over the epoch's chips; the mean batch loss."""
    parts.network.train()
    total, batches = 0.0, 0
    for x, y, *soft in loader:  # soft: the teacher's probabilities, when distilling
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        extra = [s.to(device, non_blocking=True) for s in soft]
        with torch.autocast(device.type, enabled=parts.amp):
            loss = parts.criterion(parts.network(x), y, *extra)
        parts.optimizer.zero_grad(set_to_none=True)
        parts.scaler.scale(loss).backward()
        parts.scaler.step(parts.optimizer)
        parts.scaler.update()
        parts.scheduler.step()
        if parts.ema is not None:
            parts.ema.update_parameters(parts.network)
        total += loss.item()
        batches += 1
    return total / max(batches, 1)
