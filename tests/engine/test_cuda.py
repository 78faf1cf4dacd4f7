"""CUDA code paths: AMP inference against CPU fp32, and an AMP training step. Skipped without a
CUDA device (CI has none); ``bench/gpu_check.py`` runs the full GPU check on a lent machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

import geoseg
from geoseg.classes import NODATA
from geoseg.models.bundle import load_bundle
from geoseg.train.config import load_config
from geoseg.train.loop import train_epoch
from geoseg.train.setup import build_parts
from tests.conftest import NORCIA

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_amp_inference_agrees_with_cpu_fp32(tmp_path: Path) -> None:
    """The demo sample's class raster on CUDA (AMP by default) against the CPU in fp32."""
    maps = []
    for device in ("cpu", "cuda"):
        opts = geoseg.Options(device=device, engine="inprocess", vectorize=False)
        with rasterio.open(geoseg.classify(NORCIA, tmp_path / device, options=opts).classes) as src:
            maps.append(src.read(1))
    valid = maps[0] != NODATA
    assert (maps[0] == maps[1])[valid].mean() >= 0.995


def test_an_amp_training_step_is_finite_and_scaled() -> None:
    device = torch.device("cuda")
    network = load_bundle().network.float().to(device)
    cfg = load_config(None, train=["unused"], output="unused")
    parts = build_parts(cfg, network, np.ones(9, np.float32), 2, device)
    assert parts.amp and parts.scaler.is_enabled()
    batch = (torch.randn(2, 12, 128, 128), torch.randint(0, 9, (2, 128, 128)))
    loss = train_epoch(parts, [batch, batch], device)  # type: ignore[arg-type]
    assert np.isfinite(loss)
