"""Before the first step: data measured once, the schedule as configured, EMA and AMP as asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geoseg.train import load_config
from geoseg.train.dataset import class_counts
from geoseg.train.losses import class_weights
from geoseg.train.setup import build_network, build_parts, prepare_data
from tests.train.conftest import TINY

CPU = torch.device("cpu")


def test_the_network_as_configured() -> None:
    cfg = load_config(None, **TINY, output="unused")
    network = build_network(cfg, CPU).eval()
    with torch.no_grad():
        assert network(torch.zeros(1, 12, 32, 32)).shape == (1, 9, 32, 32)


def test_data_is_opened_and_measured_once() -> None:
    cfg = load_config(None, **TINY, output="unused")
    lines: list[str] = []
    data = prepare_data(cfg, lines.append)
    assert len(data.train) == len(data.val) == 1
    np.testing.assert_array_equal(data.counts, class_counts(data.train, 9))
    assert data.weights is not None
    np.testing.assert_array_equal(data.weights, class_weights(data.counts))
    assert data.inputs.mean.shape == data.inputs.std.shape == (12,)
    assert lines[0].startswith("1 train / 1 val scenes; class pixels [")
    assert lines[1].startswith("class weights [")


@pytest.mark.parametrize(
    ("schedule", "steps", "kind"),
    [
        ("onecycle", 40, torch.optim.lr_scheduler.OneCycleLR),
        ("cosine", 40, torch.optim.lr_scheduler.CosineAnnealingLR),
        ("constant", 40, torch.optim.lr_scheduler.LambdaLR),
        ("onecycle", 0, torch.optim.lr_scheduler.LambdaLR),  # epochs: 0
    ],
)
def test_the_schedule_as_configured(schedule: str, steps: int, kind: type) -> None:
    cfg = load_config(None, **TINY, output="unused", schedule=schedule)
    parts = build_parts(cfg, torch.nn.Conv2d(2, 9, 1), np.ones(9, np.float32), steps, CPU)
    assert isinstance(parts.scheduler, kind)
    assert parts.ema is None and parts.evaluated is parts.network and not parts.amp


def test_the_ema_is_evaluated_and_starts_from_the_network() -> None:
    cfg = load_config(None, **TINY, output="unused", ema_decay=0.9, amp=True)
    network = torch.nn.Sequential(torch.nn.Conv2d(2, 9, 1), torch.nn.BatchNorm2d(9))
    parts = build_parts(cfg, network, np.ones(9, np.float32), 20, CPU)
    assert parts.ema is not None and parts.evaluated is parts.ema.module
    torch.testing.assert_close(parts.evaluated.state_dict(), network.state_dict())
    assert parts.amp and not parts.scaler.is_enabled()  # AMP scaling is for CUDA only
