"""Validation over whole scenes, the figure early stopping, selection and the bundle report.

The network runs over each validation scene at once (zero-padded to a multiple of 32, zero being
what nodata reads as at inference), not through the tiled ``classify`` path, so the number that
picks the epoch is the one reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rasterio.windows import Window
from torch import nn

from geoseg.classes import NODATA
from geoseg.core.metrics import confusion, metrics
from geoseg.train.dataset import LabelledScene, ModelInput


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
            h, w = s.shape
            refl, valid, label = s.read(Window(0, 0, w, h))
            x = torch.from_numpy(self.inputs(refl, valid))
            ph, pw = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
            x = F.pad(x, (0, pw - w, 0, ph - h))[None].to(self.device)
            pred = network(x)[0, :, :h, :w].argmax(0).cpu().numpy().astype(np.uint8)
            pred[~valid] = NODATA
            cm += confusion(pred, label, n)
        return cm

    def metrics(self, network: nn.Module) -> dict[str, Any]:
        """:func:`geoseg.core.metrics.metrics` of :meth:`confusion`."""
        return metrics(self.confusion(network), self.names, self.min_share)
