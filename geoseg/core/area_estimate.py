"""Area estimates with confidence intervals from a stratified accuracy-assessment sample.

Pixel counting gives the *mapped* area of a class, which is biased by every classification error.
The good-practice estimator of Olofsson et al. (2014, Remote Sensing of Environment 148: 42–57,
eqs. 2–10) treats the map classes as strata: with ``W_i`` the mapped area share of stratum ``i`` and
``n_ij`` the sample points mapped ``i`` and labelled ``j`` by the reference, the estimated area
share of class ``j`` is ``Σ_i W_i n_ij / n_i`` and its standard error
``sqrt(Σ_i W_i² (n_ij/n_i)(1 − n_ij/n_i) / (n_i − 1))``. User's, producer's and overall accuracy
come with their standard errors from the same matrix. Pure numpy/pandas on counts; reading the
sample and the raster is :mod:`geoseg.analysis.sampling`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from geoseg.errors import InputError


@dataclass
class AreaEstimate:
    """Per-class table (areas in hectares) plus overall accuracy with its interval."""

    table: pd.DataFrame
    overall_accuracy: float
    overall_accuracy_ci: float
    confidence: float
    sample_counts: np.ndarray  # n_ij: rows map class (stratum), columns reference class

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "stratified estimator, Olofsson et al. 2014 (RSE 148: 42-57)",
            "confidence": self.confidence,
            "overall_accuracy": self.overall_accuracy,
            "overall_accuracy_ci": self.overall_accuracy_ci,
            "classes": self.table.to_dict(orient="records"),
            "sample_counts": self.sample_counts.tolist(),
        }


def error_matrix(map_class: np.ndarray, reference: np.ndarray, n_classes: int) -> np.ndarray:
    """Sample counts ``n[i, j]``: points mapped ``i`` whose reference label is ``j``."""
    m = np.asarray(map_class, dtype=np.int64)
    r = np.asarray(reference, dtype=np.int64)
    if m.shape != r.shape:
        raise ValueError("map and reference labels differ in length")
    if m.size and (m.min() < 0 or r.min() < 0 or m.max() >= n_classes or r.max() >= n_classes):
        raise ValueError("class id out of range")
    return np.bincount(m * n_classes + r, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def estimate_areas(
    counts: np.ndarray,
    mapped_area: Sequence[float] | np.ndarray,
    names: Sequence[str],
    confidence: float = 0.95,
    mapped_pixels: Sequence[int] | np.ndarray | None = None,
) -> AreaEstimate:
    """Stratified area and accuracy estimates from sample counts and mapped areas (hectares).

    Strata with no mapped area are left out of the weights (they hold no population); every
    stratum with mapped area needs at least two sample points, else its variance is undefined.
    """
    n = np.asarray(counts, dtype=np.float64)
    area = np.asarray(mapped_area, dtype=np.float64)
    k = len(names)
    if n.shape != (k, k) or area.shape != (k,):
        raise ValueError("counts must be k x k and mapped_area length k for k class names")
    total = area.sum()
    if total <= 0:
        raise InputError("the map holds no mapped area", None, "check the class raster")
    ni = n.sum(axis=1)
    lacking = [names[i] for i in range(k) if area[i] > 0 and ni[i] < 2]
    if lacking:
        raise InputError(
            f"stratum/strata {', '.join(lacking)} have mapped area but fewer than 2 sample points",
            None,
            "label at least 2 points (better 50 or more) in every mapped class",
        )
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    w = area / total
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(ni[:, None] > 0, n / ni[:, None], 0.0)  # n_ij / n_i
        p = w[:, None] * share  # estimated area proportions p_ij
        dof = np.where(ni > 1, ni - 1, np.inf)[:, None]
        var_p = (w[:, None] ** 2 * share * (1 - share) / dof).sum(axis=0)
        pk = p.sum(axis=0)
        users = np.where(ni > 0, np.diag(share), np.nan)
        var_users = users * (1 - users) / dof[:, 0]
        producers = np.where(pk > 0, np.diag(p) / pk, np.nan)
        var_producers = _producers_variance(n, area, ni, users, producers)
    oa = float(np.trace(p))
    var_oa = float(np.nansum(w**2 * users * (1 - users) / dof[:, 0]))
    se_ha = np.sqrt(var_p) * total
    table = pd.DataFrame(
        {
            "class_name": list(names),
            "mapped_pixels": (
                np.asarray(mapped_pixels, dtype=np.int64)
                if mapped_pixels is not None
                else np.zeros(k, np.int64)
            ),
            "mapped_area_ha": area,
            "weight": w,
            "sample_points": ni.astype(np.int64),
            "reference_points": n.sum(axis=0).astype(np.int64),
            "estimated_area_ha": pk * total,
            "se_ha": se_ha,
            "ci_ha": z * se_ha,
            "ci_low_ha": pk * total - z * se_ha,
            "ci_high_ha": pk * total + z * se_ha,
            "users_accuracy": users,
            "users_accuracy_ci": z * np.sqrt(var_users),
            "producers_accuracy": producers,
            "producers_accuracy_ci": z * np.sqrt(var_producers),
        }
    )
    if mapped_pixels is None:
        table = table.drop(columns="mapped_pixels")
    return AreaEstimate(table, oa, float(z * np.sqrt(var_oa)), confidence, n.astype(np.int64))


def _producers_variance(
    n: np.ndarray, area: np.ndarray, ni: np.ndarray, users: np.ndarray, producers: np.ndarray
) -> np.ndarray:
    """Olofsson et al. 2014 eq. 7, with mapped areas standing in for the pixel totals N_i."""
    k = len(area)
    out = np.full(k, np.nan)
    dof = np.where(ni > 1, ni - 1, np.inf)
    share = np.where(ni[:, None] > 0, n / np.maximum(ni, 1)[:, None], 0.0)
    nj_hat = (area[:, None] * share).sum(axis=0)  # estimated reference area of class j
    for j in range(k):
        if not np.isfinite(producers[j]) or nj_hat[j] <= 0:
            continue
        u = 0.0 if not np.isfinite(users[j]) else users[j]
        own = area[j] ** 2 * (1 - producers[j]) ** 2 * u * (1 - u) / dof[j]
        others = sum(
            area[i] ** 2 * share[i, j] * (1 - share[i, j]) / dof[i] for i in range(k) if i != j
        )
        out[j] = (own + producers[j] ** 2 * others) / nj_hat[j] ** 2
    return out
