"""Which weights are shipped: the best epoch, its weight average, or a BN-recalibrated pair.

Each epoch is scored (validation mIoU, or minus the training loss without validation) and the best
epoch's weights kept. A weight EMA, when configured, is what is validated, kept and shipped.
Precise BN re-estimates BatchNorm statistics of the last and the best weights at the end and keeps
whichever validates better (or the best weights as trained).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from geoseg.train.config import TrainConfig
from geoseg.train.dataset import ChipDataset
from geoseg.train.validation import Scoring, Validation

State = dict[str, torch.Tensor]


@dataclass
class Progress:
    """The run so far: what a checkpoint keeps, and how the run ended."""

    first_epoch: int = 0
    best_score: float = -1.0
    best_epoch: int = -1
    stale: int = 0  # epochs since the best one
    best_state: State | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed_before: float = 0.0  # seconds spent before a resume
    started: float = field(default_factory=time.time)  # when this (part of the) run began
    stopped: str = "epochs done"
    selected: str = ""

    @property
    def elapsed(self) -> float:
        """Seconds the run has taken, over all its parts."""
        return self.elapsed_before + time.time() - self.started

    def record(self, entry: dict[str, Any], score: float, evaluated: nn.Module) -> bool:
        """Add an epoch's ``entry``; keep ``evaluated``'s weights if ``score`` is the best yet."""
        improved = score > self.best_score
        if improved:
            self.best_score, self.best_epoch, self.stale = score, entry["epoch"], 0
            self.best_state = state_fp32(evaluated)
        else:
            self.stale += 1
        self.history.append(entry)
        return improved


def state_fp32(network: nn.Module) -> State:
    return {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}


def make_ema(network: nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of weights and BN statistics (decay 0: none)."""
    if not decay:
        return None
    return AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


@torch.no_grad()
def precise_bn(
    network: nn.Module, data: ChipDataset, batches: int, batch_size: int, device: torch.device
) -> None:
    """Re-estimate BatchNorm statistics as plain averages over ``batches`` fresh training batches.

    During training they are exponential averages over the last few batches, computed while the
    weights moved; with small batches that makes the eval-mode network noisy from epoch to epoch
    (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm").
    """
    bns = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    network.train()
    length, data.length = data.length, batches * batch_size
    for x, *_ in DataLoader(data, batch_size=batch_size, shuffle=False):
        network(x.to(device))
    data.length = length
    for m, momentum in zip(bns, momenta, strict=True):
        m.momentum = momentum
    network.eval()


def select_weights(
    cfg: TrainConfig,
    network: nn.Module,
    evaluated: nn.Module,
    progress: Progress,
    data: ChipDataset,
    val: Validation | Scoring,
    say: Callable[[str], None],
) -> None:
    """Load the weights to ship into ``network`` and say in ``progress.selected`` which they are.

    ``evaluated`` is what was validated and kept per epoch: the EMA's copy, or ``network``.
    """
    scoring = val if isinstance(val, Scoring) else Scoring(val)
    best = progress.best_state
    if cfg.precise_bn_batches and scoring.active:
        # Recalibrate the last and the best epoch's weights; keep whichever validates better.
        data.set_epoch(cfg.epochs)  # fresh chips, none seen in training
        candidates = {"last": state_fp32(evaluated)}
        last_epoch = progress.history[-1]["epoch"] if progress.history else -1
        if best is not None and progress.best_epoch != last_epoch:
            candidates["best"] = best
        scored = {} if best is None else {"best as trained": (progress.best_score, best)}
        for key, state in candidates.items():
            network.load_state_dict(state)
            precise_bn(network, data, cfg.precise_bn_batches, cfg.batch_size, scoring.device)
            score = scoring.measure(network)[1] or 0.0
            scored[key] = (score, state_fp32(network))
            say(
                f"precise BN on the {key} weights: {scoring.rule()} {score:.4f} (agreement with DW)"
            )
        chosen = max(scored, key=lambda k: scored[k][0])
        best = scored[chosen][1]
        progress.selected = (
            f"{chosen} epoch weights with precise BN ({cfg.precise_bn_batches} batches)"
        )
    elif best is None:
        progress.selected = "the starting weights (no epoch run)"
    else:
        progress.selected = f"epoch {progress.best_epoch} (best {scoring.rule()})"
        if cfg.ema_decay:
            progress.selected += f", weight EMA (decay {cfg.ema_decay})"
    network.load_state_dict(best if best is not None else state_fp32(evaluated))
