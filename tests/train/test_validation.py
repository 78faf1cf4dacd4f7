"""Validation over whole scenes: every valid labelled pixel counted once, nodata left out."""

from __future__ import annotations

import numpy as np
import torch
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.models.inputs import read_bands
from geoseg.train.config import DW_CLASSES
from geoseg.train.dataset import LabelledScene, ModelInput
from geoseg.train.validation import Validation
from tests.conftest import BANDS, NORCIA_LABELLED


class Always(torch.nn.Module):
    """Predicts one class everywhere; checks the input is padded to a multiple of 32."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 32 == 0 and x.shape[-1] % 32 == 0
        out = torch.zeros(x.shape[0], 9, *x.shape[-2:])
        out[:, self.k] = 1
        return out


def test_confusion_of_a_constant_network() -> None:
    names = read_bands(BANDS, ["NDVI", "NDWI"])
    scene = LabelledScene.open(NORCIA_LABELLED, NORCIA_LABELLED / "label.tif", names, DW_CLASSES)
    inputs = ModelInput(BANDS, ["NDVI", "NDWI"], np.zeros(12, np.float32), np.ones(12, np.float32))
    val = Validation([scene, scene], inputs, [c.name for c in DW_CLASSES], 0.0, torch.device("cpu"))
    cm = val.confusion(Always(1))
    h, w = scene.shape
    _, _, label = scene.read(Window(0, 0, w, h))
    counts = np.bincount(label[label != NODATA], minlength=9)
    np.testing.assert_array_equal(cm[:, 1], 2 * counts)  # every labelled valid pixel, twice
    assert cm.sum() == cm[:, 1].sum()
    m = val.metrics(Always(1))
    assert m["overall_accuracy"] == round(counts[1] / counts.sum(), 6)
