"""Temperature scaling: a confidence raster whose 80 % means right about 80 % of the time.

A network trained with cross-entropy is over- or under-confident as a whole; dividing its logits
by one temperature ``T`` fitted on held-out scenes (minimum negative log-likelihood) fixes most of
it without changing which class wins in a single pass (Guo et al. 2017). "Right" here means
agreeing with the Dynamic World labels of those scenes, the only reference at hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import nn

from geoseg.classes import NODATA
from geoseg.models.bundle import Bundle, load_bundle, save_spec
from geoseg.models.inputs import read_bands
from geoseg.train.dataset import LabelledScene, ModelInput, find_scenes
from geoseg.train.validation import forward_whole

CALIBRATION_NOTE = (
    "temperature fitted on the validation scenes (minimum NLL); expected calibration error of "
    "the maximum class probability against Dynamic World labels, percentage points"
)
#: labelled pixels drawn from the scenes to fit and score the temperature (enough for 3 digits)
SAMPLE_PIXELS = 400_000
BINS = 15


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature and the expected calibration error (ECE, in percentage points of
    agreement with Dynamic World) of the maximum class probability before and after."""

    temperature: float
    ece_before: float
    ece_after: float
    pixels: int

    def describe(self) -> str:
        return (
            f"temperature {self.temperature:.3f}; expected calibration error against Dynamic "
            f"World labels {self.ece_before:.2f} → {self.ece_after:.2f} points "
            f"({self.pixels:,} pixels)"
        )

    def as_metrics(self) -> dict[str, float | int]:
        return {
            "temperature": round(self.temperature, 4),
            "ece_before_pct": round(self.ece_before, 2),
            "ece_after_pct": round(self.ece_after, 2),
            "pixels": self.pixels,
        }


@torch.no_grad()
def sample_logits(
    network: nn.Module,
    scenes: Sequence[LabelledScene],
    inputs: ModelInput,
    device: torch.device,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(n, classes)`` and labels ``(n,)`` at labelled pixels of whole scenes, an even
    share of :data:`SAMPLE_PIXELS` from each scene (seeded)."""
    rng = np.random.default_rng(seed)
    network.eval()
    logits, labels = [], []
    per_scene = max(1, SAMPLE_PIXELS // max(len(scenes), 1))
    for s in scenes:
        out, valid, label = forward_whole(network, s, inputs, device)
        out = out.float().cpu()
        rows, cols = np.nonzero(valid & (label != NODATA))
        if rows.size > per_scene:
            keep = rng.choice(rows.size, per_scene, replace=False)
            rows, cols = rows[keep], cols[keep]
        logits.append(out[:, rows, cols].T)
        labels.append(torch.from_numpy(label[rows, cols].astype(np.int64)))
    return torch.cat(logits), torch.cat(labels)


def expected_calibration_error(
    probs: torch.Tensor, labels: torch.Tensor, bins: int = BINS
) -> float:
    """ECE in percentage points: the gap between confidence and agreement, bin by bin of the
    maximum probability, weighted by the bins' pixels."""
    conf, pred = probs.max(dim=1)
    right = (pred == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in pairwise(edges.tolist()):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            gap = (right[inside].mean() - conf[inside].mean()).abs().item()
            ece += gap * inside.float().mean().item()
    return 100.0 * ece


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> Calibration:
    """The temperature minimising the negative log-likelihood of ``labels`` (searched on
    log T in [1/8, 8]), with the ECE before and after."""

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), labels))

    best = minimize_scalar(nll, bounds=(-math.log(8), math.log(8)), method="bounded")
    t = math.exp(float(best.x))
    before = expected_calibration_error(torch.softmax(logits, dim=1), labels)
    after = expected_calibration_error(torch.softmax(logits / t, dim=1), labels)
    return Calibration(t, before, after, int(labels.numel()))


def calibrate(
    network: nn.Module,
    scenes: Sequence[LabelledScene],
    inputs: ModelInput,
    device: torch.device,
) -> Calibration:
    """Fit the network's temperature on ``scenes`` (whole, untiled, as validation runs them)."""
    return fit_temperature(*sample_logits(network, scenes, inputs, device))


def labelled_scenes(
    bundle: Bundle, scene_dirs: Sequence[Path], label_name: str = "label.tif"
) -> tuple[list[LabelledScene], ModelInput]:
    """The labelled crops under ``scene_dirs`` read as ``bundle`` reads them, and its input."""
    spec = bundle.spec
    names = read_bands(spec.bands, spec.indices)
    scenes = [
        LabelledScene.open(image, label, names, spec.classes)
        for image, label in find_scenes(scene_dirs, label_name)
    ]
    norm = spec.normalization
    inputs = ModelInput(spec.bands, spec.indices, np.asarray(norm.mean), np.asarray(norm.std))
    return scenes, inputs


def calibrate_bundle(
    path: Path, scene_dirs: Sequence[Path], label_name: str = "label.tif"
) -> Calibration:
    """Fit a bundle's temperature on labelled crops and write it into its ``bundle.json`` (the
    weights stay as they are); the figures go to ``metrics.calibration``."""
    bundle = load_bundle(path)
    spec = bundle.spec
    scenes, inputs = labelled_scenes(bundle, scene_dirs, label_name)
    cal = calibrate(bundle.network.float(), scenes, inputs, torch.device("cpu"))
    metrics = {**spec.metrics, "calibration": {"note": CALIBRATION_NOTE, **cal.as_metrics()}}
    save_spec(path, spec.model_copy(update={"temperature": cal.temperature, "metrics": metrics}))
    return cal
