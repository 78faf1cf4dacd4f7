"""Confusion matrix and metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from geoseg.core.metrics import confusion, metrics

# reference rows, prediction columns
CM = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])


def test_confusion_counts_and_ignores() -> None:
    ref = np.array([0, 0, 0, 1, 1, 255, 2, 7])
    pred = np.array([0, 1, 1, 1, 0, 0, 255, 1])  # 7 is out of range: skipped
    np.testing.assert_array_equal(confusion(pred, ref, 3), [[1, 2, 0], [1, 1, 0], [0, 0, 0]])


def test_metrics_by_hand() -> None:
    m = metrics(CM, ["a", "b", "c"], min_share=0.0)
    # 11 px; OA = 8/11
    assert m["pixels"] == 11
    assert m["overall_accuracy"] == pytest.approx(8 / 11, abs=1e-6)
    a, b = m["per_class"]["a"], m["per_class"]["b"]
    # a: tp 5, ref 6, pred 7 -> IoU 5/8, precision 5/7, recall 5/6, F1 10/13
    assert a["iou"] == pytest.approx(5 / 8, abs=1e-6)
    assert a["precision"] == pytest.approx(5 / 7, abs=1e-6)
    assert a["recall"] == pytest.approx(5 / 6, abs=1e-6)
    assert a["f1"] == pytest.approx(10 / 13, abs=1e-6)
    # b: tp 3, ref 5, pred 4 -> IoU 3/6
    assert b["iou"] == pytest.approx(0.5, abs=1e-6)
    assert m["per_class"]["c"]["iou"] is None  # never referenced nor predicted
    assert m["miou"] == pytest.approx((5 / 8 + 0.5) / 2, abs=1e-6)
    # FW-IoU = 6/11 * 5/8 + 5/11 * 1/2
    assert m["fw_iou"] == pytest.approx(6 / 11 * 5 / 8 + 5 / 11 * 0.5, abs=1e-6)
    # kappa: pe = (6*7 + 5*4) / 121
    pe = (6 * 7 + 5 * 4) / 121
    assert m["kappa"] == pytest.approx((8 / 11 - pe) / (1 - pe), abs=1e-6)


def test_miou_leaves_out_rare_classes() -> None:
    cm = np.diag([990, 10]).astype(np.int64)
    cm[1, 0] = 5  # the rare class is half wrong
    m = metrics(cm, ["common", "rare"], min_share=0.05)
    assert m["miou_classes"] == ["common"]
    assert m["miou"] == pytest.approx(990 / 995, abs=1e-6)
    assert m["miou_all"] == pytest.approx((990 / 995 + 10 / 15) / 2, abs=1e-6)
