"""Validation over whole scenes: every valid labelled pixel counted once, nodata left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.models.inputs import read_bands
from geoseg.train.config import DW_CLASSES
from geoseg.train.dataset import LabelledScene, ModelInput
from geoseg.train.validation import Scoring, Validation
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


class Split:
    """A stand-in split with fixed figures."""

    def __init__(self, oa: float, miou: float | None) -> None:
        self.scenes, self.oa, self.miou = [object()], oa, miou

    def metrics(self, network: object) -> dict[str, float | None]:
        return {"overall_accuracy": self.oa, "miou": self.miou}


def test_the_selection_score_combines_validation_and_holdout_miou() -> None:
    val, held = Split(0.8, 0.5), Split(0.6, 0.3)
    alone = Scoring(val)  # type: ignore[arg-type]
    fields, score = alone.measure(None)  # type: ignore[arg-type]
    assert score == 0.5 and fields == {"val_oa": 0.8, "val_miou": 0.5}  # as before: val mIoU
    assert alone.rule() == "validation mIoU"
    both = Scoring(val, held, {"val": 1.0, "holdout": 1.0})  # type: ignore[arg-type]
    fields, score = both.measure(None)  # type: ignore[arg-type]
    assert score == pytest.approx(0.4) and fields["score"] == pytest.approx(0.4)
    assert fields["holdout_oa"] == 0.6 and fields["holdout_miou"] == 0.3
    line = both.describe(fields)
    assert line.startswith("agreement with Dynamic World labels: val OA 0.8000 mIoU 0.5000")
    assert "rural hold-out OA 0.6000 mIoU 0.3000" in line and "selection score 0.4000" in line
    weighted = Scoring(val, held, {"val": 1.0, "holdout": 3.0})  # type: ignore[arg-type]
    assert weighted.measure(None)[1] == pytest.approx(0.35)  # type: ignore[arg-type]
    assert weighted.rule() == "(1 × val mIoU + 3 × rural hold-out mIoU) / 4"
    only_held = Scoring(val, held, {"holdout": 1.0})  # type: ignore[arg-type]
    fields, score = only_held.measure(None)  # type: ignore[arg-type]
    assert score == pytest.approx(0.3) and fields["val_miou"] == 0.5  # val still reported
    held.miou = None  # no class above the share threshold: counts as 0
    assert both.measure(None)[1] == pytest.approx(0.25)  # type: ignore[arg-type]
    none = Scoring(Split(0, 0), None)  # type: ignore[arg-type]
    none.val.scenes = []
    assert none.measure(None) == ({}, None) and not none.active  # type: ignore[arg-type]
    assert none.rule() == "training loss (no validation)"
