"""Resumable runs: a checkpoint after every epoch, and resuming only the run that wrote it.

A checkpoint holds every part a step touches (network, optimiser, schedule, AMP scaler, weight
EMA), the run's progress and torch's generator state, so a resumed run continues as if it had
never stopped. Chips need no state: they depend only on (seed, epoch, index).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from geoseg.errors import InputError
from geoseg.train.config import TrainConfig
from geoseg.train.selection import Progress
from geoseg.train.setup import Parts

#: Settings that may differ on resume: they do not change the weights of the epochs already run
#: (how the run is driven, and what happens to the selected weights when they are shipped).
RUNTIME_KEYS = {
    "name",
    "output",
    "fold_image_pooling",
    "calibrate",
    "processing_levels",
    "known_limits",
    "overlap",  # the shipped tiling: a bundle setting, never seen by training
    "resume",
    "max_minutes",
    "threads",
    "device",
    "checkpoint",
    "patience",
    "precise_bn_batches",
}


def save_checkpoint(
    path: Path, cfg: TrainConfig, parts: Parts, progress: Progress, elapsed: float
) -> None:
    """Write the state after the last epoch of ``progress``; atomic, so a crash while saving
    leaves the previous checkpoint intact."""
    payload: dict[str, Any] = {
        "model": parts.network.state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.scaler.state_dict(),
        "ema": parts.ema.state_dict() if parts.ema is not None else None,
        "epoch": progress.history[-1]["epoch"],
        "best_miou": progress.best_score,
        "best_epoch": progress.best_epoch,
        "stale": progress.stale,
        "best_state": progress.best_state,
        "history": progress.history,
        "elapsed_s": elapsed,
        "torch_rng": torch.get_rng_state(),
        "config": cfg.model_dump(mode="json"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, cfg: TrainConfig, parts: Parts) -> Progress:
    """Restore ``parts`` and torch's generator from ``path``; the run's progress so far."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    check_resumable(state["config"], cfg, path)
    parts.network.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    parts.scaler.load_state_dict(state["scaler"])
    if parts.ema is not None:
        parts.ema.load_state_dict(state["ema"])  # same ema_decay, so the checkpoint has one
    torch.set_rng_state(state["torch_rng"])
    return Progress(
        first_epoch=state["epoch"] + 1,
        best_score=state["best_miou"],
        best_epoch=state["best_epoch"],
        stale=state["stale"],
        best_state=state["best_state"],
        history=state["history"],
        elapsed_before=state.get("elapsed_s", 0.0),
    )


def check_resumable(saved: dict[str, Any], cfg: TrainConfig, ckpt: Path) -> None:
    """A checkpoint continues only the run that wrote it (same data, model and schedule)."""
    now = cfg.model_dump(mode="json")
    # A setting added after the checkpoint was written counts as its default.
    defaults = {
        k: f.get_default(call_default_factory=True) for k, f in TrainConfig.model_fields.items()
    }
    changed = sorted(
        k for k in now if k not in RUNTIME_KEYS and saved.get(k, defaults[k]) != now[k]
    )
    if changed:
        raise InputError(
            f"checkpoint was written with other settings ({', '.join(changed)})",
            ckpt,
            "resume with the same config, or delete the checkpoint to start afresh",
        )
