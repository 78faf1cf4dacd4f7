"""Losses by name (CE, weighted CE, Dice, Focal), their weighted sums, and class weights.

Dice and Focal come from ``smp.losses``; (weighted) cross-entropy is torch's, which smp wraps
without class weights. All ignore :data:`~geoseg.classes.NODATA` (nodata and unlabelled pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from segmentation_models_pytorch.losses import DiceLoss, FocalLoss
from torch import nn

from geoseg.classes import NODATA
from geoseg.errors import InputError
from geoseg.train.config import Distill, LossTerm
from geoseg.train.labels import SOFT_NODATA


def class_weights(counts: np.ndarray, power: float = 0.5, clip: float = 10.0) -> np.ndarray:
    """``(median / freq) ** power`` over present classes, clipped to [1/clip, clip]; 0 if absent.

    The square root softens inverse frequency so rare classes are helped without turning the
    majority class (built, ~50 % here) into noise.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    w = np.zeros_like(counts)
    if present.any():
        freq = counts[present] / counts[present].sum()
        w[present] = np.clip((np.median(freq) / freq) ** power, 1 / clip, clip)
    return w.astype(np.float32)


def configured_weights(
    setting: Literal["auto", "none"] | list[float], counts: np.ndarray
) -> np.ndarray | None:
    """The config's ``class_weights``: from the training pixel ``counts``, none, or as given."""
    if setting == "auto":
        return class_weights(counts)
    if setting == "none":
        return None
    weights = np.asarray(setting, dtype=np.float32)
    if len(weights) != len(counts):
        raise InputError(
            f"class_weights has {len(weights)} values for {len(counts)} classes",
            "class_weights",
            "give one weight per class, or auto",
        )
    return weights


class CombinedLoss(nn.Module):
    """``sum(weight_i * loss_i)`` over the configured terms, plus the distillation term when a
    :class:`~geoseg.train.config.Distill` is given and the batch brings soft labels."""

    def __init__(
        self,
        terms: Sequence[LossTerm],
        n_classes: int,
        weights: np.ndarray | None = None,
        label_smoothing: float = 0.0,
        distill: Distill | None = None,
    ) -> None:
        super().__init__()
        if not terms:
            raise ValueError("at least one loss term is needed")
        w = torch.as_tensor(weights, dtype=torch.float32) if weights is not None else None
        self.names = [t.name for t in terms]
        self.factors = [t.weight for t in terms]
        self.terms = nn.ModuleList(_term(t.name, n_classes, w, label_smoothing) for t in terms)
        self.distill = distill

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, soft: torch.Tensor | None = None
    ) -> torch.Tensor:
        logits = logits.float()
        total = logits.new_zeros(())
        for f, term in zip(self.factors, self.terms, strict=True):
            total = total + f * term(logits, target)
        if self.distill is not None and soft is not None:
            kd = distillation_loss(logits, soft, self.distill.temperature)
            total = total + self.distill.weight * kd
        return total


def distillation_loss(logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T² · KL(teacher_T ‖ student_T)`` averaged over pixels the teacher covers.

    ``soft`` is ``(N, C, H, W)`` uint8, round(p × 255) per class, 255 in every class where the
    teacher says nothing. The teacher is softened as its logits would be: ``p^(1/T)`` renormalised
    (``softmax(z / T)`` for ``p = softmax(z)``). The T² keeps the gradient's size across T
    (Hinton et al. 2015).
    """
    covered = (soft != SOFT_NODATA).any(dim=1)
    if not covered.any():
        return logits.new_zeros(())
    p = soft.float().clamp_min(0.5) / 255.0  # round(p × 255) = 0 is p < 1/510, not p = 0
    if temperature != 1.0:
        p = p ** (1.0 / temperature)
    p = p / p.sum(dim=1, keepdim=True)
    log_q = torch.log_softmax(logits.float() / temperature, dim=1)
    kl = (p * (p.log() - log_q)).sum(dim=1)
    return temperature**2 * kl[covered].mean()


def _term(name: str, n_classes: int, w: torch.Tensor | None, smoothing: float = 0.0) -> nn.Module:
    """One loss term. ``smoothing`` (CE terms only) moves that share of each target onto all
    classes evenly: Dynamic World's labels are a teacher's guesses, often unsure on grass, shrub
    and crops, and a softened target keeps the network from fitting their noise with certainty."""
    if name == "ce":
        return nn.CrossEntropyLoss(ignore_index=NODATA, label_smoothing=smoothing)
    if name == "wce":
        if w is None:
            raise ValueError("weighted CE needs class weights")
        return nn.CrossEntropyLoss(weight=w, ignore_index=NODATA, label_smoothing=smoothing)
    if name == "dice":
        present = list(range(n_classes)) if w is None else [int(i) for i in (w > 0).nonzero()]
        return DiceLoss("multiclass", classes=present, ignore_index=NODATA)
    if name == "focal":
        return FocalLoss("multiclass", ignore_index=NODATA)
    raise ValueError(f"unknown loss {name!r}")  # pragma: no cover - LossTerm validates names
