"""Validation over whole scenes, the figure early stopping, selection and the bundle report.

The network runs over each validation scene at once (zero-padded to a multiple of 32, zero being
what nodata reads as at inference), not through the tiled ``classify`` path, so the number that
picks the epoch is the one reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rasterio.windows import Window
from torch import nn

from geoseg.classes import NODATA
from geoseg.core.metrics import confusion, metrics
from geoseg.train.dataset import LabelledScene, ModelInput


def forward_whole(
    network: nn.Module, scene: LabelledScene, inputs: ModelInput, device: torch.device
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Logits ``(classes, h, w)`` of a whole scene in one pass (zero-padded to a multiple of
    32, zero being what nodata reads as), with its validity and labels."""
    h, w = scene.shape
    refl, valid, label = scene.read(Window(0, 0, w, h))
    x = torch.from_numpy(inputs(refl, valid))
    ph, pw = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
    x = F.pad(x, (0, pw - w, 0, ph - h))[None].to(device)
    return network(x)[0, :, :h, :w], valid, label


@dataclass
class Validation:
    """Validation scenes and how their agreement is summed up (none: no validation)."""

    scenes: Sequence[LabelledScene]
    inputs: ModelInput
    names: list[str]  # class names, one per network output
    min_share: float  # classes below this share of val pixels leave the mIoU
    device: torch.device

    @torch.no_grad()
    def confusion(self, network: nn.Module) -> np.ndarray:
        """Confusion matrix of the network over whole validation scenes."""
        n = len(self.names)
        cm = np.zeros((n, n), dtype=np.int64)
        network.eval()
        for s in self.scenes:
            logits, valid, label = forward_whole(network, s, self.inputs, self.device)
            pred = logits.argmax(0).cpu().numpy().astype(np.uint8)
            pred[~valid] = NODATA
            cm += confusion(pred, label, n)
        return cm

    def metrics(self, network: nn.Module) -> dict[str, Any]:
        """:func:`geoseg.core.metrics.metrics` of :meth:`confusion`."""
        return metrics(self.confusion(network), self.names, self.min_share)


#: The splits a run can score, as printed: every figure is agreement with Dynamic World's labels.
SPLIT_NAMES = {"val": "val", "holdout": "rural hold-out"}


@dataclass
class Scoring:
    """The validation split, the hold-out (optional) and how their mIoUs make the selection score.

    Each split's confusion is pooled over its scenes (a hold-out patch is scored on its own, as a
    whole, never mosaicked with others). The score is the weighted mean of the mIoUs of the
    splits named in ``select_on`` that have scenes; ``None`` when none has (the run then selects
    on the training loss). With validation only, the score is the validation mIoU, as before.
    """

    val: Validation
    holdout: Validation | None = None
    select_on: Mapping[str, float] = field(default_factory=lambda: {"val": 1.0})

    @property
    def splits(self) -> dict[str, Validation]:
        """The splits with scenes, by name."""
        out = {"val": self.val, "holdout": self.holdout}
        return {k: v for k, v in out.items() if v is not None and v.scenes}

    @property
    def active(self) -> bool:
        """Whether a score can be measured (some weighted split has scenes)."""
        return any(self.select_on.get(k, 0.0) > 0 for k in self.splits)

    @property
    def combined(self) -> bool:
        """Whether the score is more than the validation mIoU (so it is worth its own field)."""
        held = self.holdout is not None and bool(self.holdout.scenes)
        return held or set(self.select_on) != {"val"}

    @property
    def device(self) -> torch.device:
        return self.val.device

    def measure(self, network: nn.Module) -> tuple[dict[str, Any], float | None]:
        """Per split ``<split>_oa`` and ``<split>_miou`` (agreement with Dynamic World), and the
        selection score (also as ``score`` in the fields when it combines splits)."""
        fields: dict[str, Any] = {}
        total, weight = 0.0, 0.0
        for key, split in self.splits.items():
            m = split.metrics(network)
            fields.update({f"{key}_oa": m["overall_accuracy"], f"{key}_miou": m["miou"]})
            w = self.select_on.get(key, 0.0)
            total, weight = total + w * (m["miou"] or 0.0), weight + w
        score = total / weight if weight > 0 else None
        if score is not None and self.combined:
            fields["score"] = round(score, 6)
        return fields, score

    def describe(self, fields: Mapping[str, Any]) -> str:
        """``fields`` of :meth:`measure` as one log phrase that says what the figures are."""
        parts = [
            f"{SPLIT_NAMES[k]} OA {fields[k + '_oa']:.4f} mIoU {fields[k + '_miou'] or 0:.4f}"
            for k in SPLIT_NAMES
            if k + "_oa" in fields
        ]
        if "score" in fields:
            parts.append(f"selection score {fields['score']:.4f}")
        return "agreement with Dynamic World labels: " + ", ".join(parts) if parts else ""

    def rule(self) -> str:
        """What the score is, for the log and the provenance."""
        if not self.active:
            return "training loss (no validation)"
        if not self.combined:
            return "validation mIoU"
        weights = " + ".join(f"{w:g} × {SPLIT_NAMES[k]} mIoU" for k, w in self.select_on.items())
        return f"({weights}) / {sum(self.select_on.values()):g}"
