"""Temperature scaling: fitted on labelled crops, stored in the bundle, used by the Predictor."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from geoseg.engine.predict import Predictor
from geoseg.models.bundle import load_bundle
from geoseg.train.calibration import calibrate_bundle, expected_calibration_error, fit_temperature
from tests.conftest import NORCIA_LABELLED


def _overconfident(scale: float, n: int = 20_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels drawn from softmax(z) and the logits ``scale · z``: calibrated at T = scale."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(n, 5, generator=gen) * 1.5
    labels = torch.multinomial(torch.softmax(z, dim=1), 1, generator=gen)[:, 0]
    return z * scale, labels


def test_the_fitted_temperature_undoes_overconfidence() -> None:
    logits, labels = _overconfident(3.0)
    cal = fit_temperature(logits, labels)
    assert abs(cal.temperature - 3.0) < 0.2
    assert cal.ece_after < 1.0 < cal.ece_before


def test_a_calibrated_model_has_almost_no_calibration_error() -> None:
    logits, labels = _overconfident(1.0)
    assert expected_calibration_error(torch.softmax(logits, dim=1), labels) < 1.0
    assert abs(fit_temperature(logits, labels).temperature - 1.0) < 0.1


def test_calibrating_a_bundle_stores_the_temperature_and_changes_confidence(
    bundle_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bundle"
    shutil.copytree(bundle_dir, path)
    before = load_bundle(path)
    cal = calibrate_bundle(path, [NORCIA_LABELLED])
    after = load_bundle(path)
    assert after.spec.temperature == cal.temperature != 1.0
    assert after.sha256 == before.sha256  # same weights
    assert after.identity != before.identity  # but other outputs: caches must not mix them
    assert after.spec.metrics["calibration"]["temperature"] == round(cal.temperature, 4)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 12, 64, 64)).astype("float32"))
    p0, p1 = Predictor(before, "cpu")._forward(x), Predictor(after, "cpu")._forward(x)
    assert torch.equal(p0.argmax(1), p1.argmax(1))  # one pass: the winner stays
    assert not torch.allclose(p0.max(1).values, p1.max(1).values)
