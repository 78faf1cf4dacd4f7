"""Agreement metrics from a confusion matrix: arrays in, numbers out.

Plain numpy: every metric is a one-line formula on the confusion matrix, easy to check by hand (see
tests). Shared by ``geoseg evaluate`` (rasters read window by window) and the training loop
(whole validation scenes), so both report the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from geoseg.classes import NODATA


def confusion(
    prediction: np.ndarray, reference: np.ndarray, n_classes: int, ignore: int = NODATA
) -> np.ndarray:
    """``cm[r, p]``: pixels of reference class ``r`` predicted ``p``; ignored values skipped."""
    p = prediction.astype(np.int64).ravel()
    r = reference.astype(np.int64).ravel()
    keep = (p != ignore) & (r != ignore) & (p >= 0) & (r >= 0) & (p < n_classes) & (r < n_classes)
    idx = r[keep] * n_classes + p[keep]
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(a), np.nan, dtype=np.float64)
    np.divide(a, b, out=out, where=np.asarray(b) > 0)
    return out


def metrics(
    cm: np.ndarray, names: Sequence[str] | None = None, min_share: float = 0.005
) -> dict[str, Any]:
    """Metrics of a confusion matrix (rows reference, columns prediction).

    ``miou`` averages IoU over classes holding at least ``min_share`` of the reference pixels
    (rare classes make a mean of IoUs noisy); ``miou_all`` over every class present in the
    reference. Undefined values (a class never referenced nor predicted) are ``None`` in JSON.
    """
    cm = np.asarray(cm, dtype=np.float64)
    n = cm.shape[0]
    names = list(names) if names is not None else [str(i) for i in range(n)]
    total = cm.sum()
    tp = np.diag(cm)
    ref, pred = cm.sum(axis=1), cm.sum(axis=0)
    iou = _div(tp, ref + pred - tp)
    precision, recall = _div(tp, pred), _div(tp, ref)
    f1 = _div(2 * tp, ref + pred)
    share = ref / total if total else np.zeros(n)
    major = share >= min_share
    oa = float(tp.sum() / total) if total else float("nan")
    pe = float((ref * pred).sum() / total**2) if total else float("nan")
    kappa = (oa - pe) / (1 - pe) if total and pe < 1 else float("nan")
    fw = float(np.nansum(share * np.nan_to_num(iou))) if total else float("nan")
    per_class = {
        name: {
            "iou": _num(iou[i]),
            "f1": _num(f1[i]),
            "precision": _num(precision[i]),
            "recall": _num(recall[i]),
            "reference_pixels": int(ref[i]),
            "predicted_pixels": int(pred[i]),
            "share": _num(share[i]),
        }
        for i, name in enumerate(names)
    }
    return {
        "pixels": int(total),
        "overall_accuracy": _num(oa),
        "miou": _num(float(np.nanmean(iou[major]))) if major.any() else None,
        "miou_classes": [names[i] for i in range(n) if major[i]],
        "miou_min_share": min_share,
        "miou_all": _num(float(np.nanmean(iou[ref > 0]))) if (ref > 0).any() else None,
        "fw_iou": _num(fw),
        "kappa": _num(kappa),
        "per_class": per_class,
        "confusion_matrix": cm.astype(np.int64).tolist(),
        "class_names": names,
    }


def _num(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 6)
