"""Everything a run needs before its first step: data, statistics, network, optimiser.

The order of these calls is part of the recipe: the network's initial weights, a warm start's
chips and the shuffling seeds come from the global generators that :func:`seed_everything` set,
so a config reproduces its bundle bit for bit only if nothing here draws in a different order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from geoseg.models.registry import build_model
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import (
    LabelledScene,
    ModelInput,
    class_counts,
    normalisation,
    open_scenes,
)
from geoseg.train.losses import CombinedLoss, configured_weights
from geoseg.train.sampler import SourcePlan
from geoseg.train.selection import make_ema
from geoseg.train.sources import open_training, sampled_counts


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainData:
    """The opened scenes and what is measured on the training ones before training."""

    train: list[LabelledScene]
    val: list[LabelledScene]
    counts: np.ndarray  # labelled pixels per class in the training scenes
    inputs: ModelInput  # bands + indices, normalised with the training scenes' statistics
    weights: np.ndarray | None  # class weights of the loss
    holdout: list[LabelledScene] = field(default_factory=list)  # scored, never trained on
    sources: tuple[SourcePlan, ...] = ()  # extra sources among ``train`` (after the main scenes)


def prepare_data(cfg: TrainConfig, say: Callable[[str], None]) -> TrainData:
    """Scenes, class pixels and weights, and the input normalisation (over all training scenes,
    extra sources included, unweighted: it only needs to put channels on a common scale)."""
    train, sources, holdout = open_training(cfg, say)
    val = open_scenes(cfg, cfg.val) if cfg.val else []
    counts = class_counts(train, len(cfg.classes))
    mean, std = normalisation(train, cfg.bands, cfg.indices)
    drawn = sampled_counts(train, sources, len(cfg.classes)) if sources else counts
    weights = configured_weights(cfg.class_weights, drawn)
    say(f"{len(train)} train / {len(val)} val scenes; class pixels {counts.tolist()}")
    if sources:
        say(f"class pixels as drawn (sources by weight) {drawn.tolist()}")
    if weights is not None:
        say(f"class weights {np.round(weights, 3).tolist()}")
    inputs = ModelInput(cfg.bands, cfg.indices, mean, std)
    return TrainData(train, val, counts, inputs, weights, holdout, sources)


def build_network(cfg: TrainConfig, device: torch.device) -> nn.Module:
    """The configured network with fresh (seeded) weights, on ``device``."""
    in_ch = len(cfg.bands) + len(cfg.indices)
    network = build_model(
        cfg.architecture, cfg.encoder, in_ch, len(cfg.classes), **cfg.model_params
    )
    return network.to(device)


@dataclass
class Parts:
    """What one optimisation step touches; all of it goes into a checkpoint."""

    network: nn.Module
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    ema: AveragedModel | None
    amp: bool  # autocast the forward pass

    @property
    def evaluated(self) -> nn.Module:
        """What is validated and shipped: the weight average when there is one."""
        return self.ema.module if self.ema is not None else self.network


def build_parts(
    cfg: TrainConfig,
    network: nn.Module,
    weights: np.ndarray | None,
    steps: int,
    device: torch.device,
) -> Parts:
    """Loss, AdamW, the LR schedule over ``steps``, the AMP scaler and the weight EMA.

    Built after any warm start: the EMA starts as a copy of the network's weights.
    """
    amp = (device.type == "cuda") if cfg.amp is None else cfg.amp
    criterion = CombinedLoss(
        cfg.loss, len(cfg.classes), weights, cfg.label_smoothing, cfg.distill
    ).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return Parts(
        network=network,
        criterion=criterion,
        optimizer=optimizer,
        scheduler=_schedule(cfg, optimizer, steps),
        scaler=torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda"),
        ema=make_ema(network, cfg.ema_decay),
        amp=amp,
    )


def _schedule(
    cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if cfg.schedule == "onecycle" and steps > 0:
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=steps, pct_start=0.1
        )
    if cfg.schedule == "cosine" and steps > 0:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
