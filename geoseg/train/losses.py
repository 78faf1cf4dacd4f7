"""Losses by name (CE, weighted CE, Dice, Focal) and their weighted sums.

Dice and Focal come from ``smp.losses``; (weighted) cross-entropy is torch's, which smp wraps
without class weights. All ignore label 255 (nodata and unlabelled pixels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from segmentation_models_pytorch.losses import DiceLoss, FocalLoss
from torch import nn

from geoseg.train.config import LossTerm

IGNORE = 255


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


class CombinedLoss(nn.Module):
    """``sum(weight_i * loss_i)`` over the configured terms."""

    def __init__(
        self,
        terms: Sequence[LossTerm],
        n_classes: int,
        weights: np.ndarray | None = None,
        ignore_index: int = IGNORE,
    ) -> None:
        super().__init__()
        if not terms:
            raise ValueError("at least one loss term is needed")
        w = torch.as_tensor(weights, dtype=torch.float32) if weights is not None else None
        self.names = [t.name for t in terms]
        self.factors = [t.weight for t in terms]
        mods: list[nn.Module] = []
        for t in terms:
            if t.name == "ce":
                mods.append(nn.CrossEntropyLoss(ignore_index=ignore_index))
            elif t.name == "wce":
                if w is None:
                    raise ValueError("weighted CE needs class weights")
                mods.append(nn.CrossEntropyLoss(weight=w, ignore_index=ignore_index))
            elif t.name == "dice":
                present = (
                    list(range(n_classes)) if w is None else [int(i) for i in (w > 0).nonzero()]
                )
                mods.append(DiceLoss("multiclass", classes=present, ignore_index=ignore_index))
            elif t.name == "focal":
                mods.append(FocalLoss("multiclass", ignore_index=ignore_index))
            else:  # pragma: no cover - LossTerm validates names
                raise ValueError(f"unknown loss {t.name!r}")
        self.terms = nn.ModuleList(mods)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        total = logits.new_zeros(())
        for f, term in zip(self.factors, self.terms, strict=True):
            total = total + f * term(logits, target)
        return total
