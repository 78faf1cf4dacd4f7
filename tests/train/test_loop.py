"""A tiny real training run: 2 iterations on a real crop, a usable bundle out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from geoseg.models.bundle import WEIGHTS_FILE, load_bundle
from geoseg.train import load_config, train
from geoseg.train.loop import train_epoch
from geoseg.train.setup import build_parts
from tests.train.conftest import TINY


@pytest.mark.slow
def test_two_iterations_write_a_usable_bundle(tmp_path: Path) -> None:
    cfg = load_config(None, **TINY, output=tmp_path / "model", precise_bn_batches=2)
    lines: list[str] = []
    bundle = train(cfg, report=lines.append)
    loaded = load_bundle(tmp_path / "model")
    assert loaded.sha256 == bundle.sha256
    spec = loaded.spec
    assert [c.name for c in spec.classes][:2] == ["water", "trees"]
    assert spec.channels[-2:] == ["NDVI", "NDWI"] and len(spec.normalization.mean) == 12
    assert spec.provenance["config"]["chips_per_epoch"] == 4
    assert "ignore_index" not in spec.provenance["config"]  # retired: NODATA is always ignored
    assert len(spec.provenance["history"]) == 1
    assert "precise BN" in spec.provenance["selected"]
    val = spec.metrics["validation"]
    assert 0 <= val["overall_accuracy"] <= 1 and "per_class" in val
    weights = load_file(str(tmp_path / "model" / WEIGHTS_FILE))
    assert weights["head.0.weight"].dtype == torch.float16  # stored half precision
    assert any("epoch 0" in s for s in lines)
    with torch.inference_mode():
        out = loaded.network(torch.zeros(1, 12, 64, 64))
    assert out.shape == (1, 9, 64, 64)


def test_an_epoch_steps_once_per_batch_and_averages_the_loss() -> None:
    cfg = load_config(None, **TINY, output="unused", schedule="cosine", ema_decay=0.5)
    network = torch.nn.Conv2d(2, 9, 1)
    parts = build_parts(cfg, network, np.ones(9, np.float32), 4, torch.device("cpu"))
    assert parts.ema is not None and not parts.amp
    criterion, seen = parts.criterion, []

    def spy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        seen.append(float((value := criterion(logits, target)).detach()))
        return value

    parts.criterion = spy  # type: ignore[assignment]
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(2, 2, 4, 4, generator=g), torch.randint(0, 9, (2, 4, 4))) for _ in "ab"]
    before = network.weight.detach().clone()
    loss = train_epoch(parts, batches, torch.device("cpu"))  # type: ignore[arg-type]
    assert parts.scheduler.last_epoch == 2 and int(parts.ema.n_averaged) == 2
    assert not torch.equal(network.weight, before) and network.training
    assert len(seen) == 2 and loss == pytest.approx(sum(seen) / 2)
