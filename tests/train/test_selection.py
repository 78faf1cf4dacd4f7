"""Which weights ship: the best epoch kept, the weight EMA validated and shipped, precise BN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from geoseg.models.bundle import WEIGHTS_FILE
from geoseg.train import load_config, train
from geoseg.train.selection import Progress, make_ema, precise_bn, select_weights, state_fp32
from geoseg.train.validation import Validation
from tests.train.conftest import TINY


def test_progress_keeps_the_best_epoch_and_counts_the_stale_ones() -> None:
    net = torch.nn.Linear(1, 1)
    progress = Progress()
    assert progress.record({"epoch": 0}, 0.3, net)
    torch.nn.init.constant_(net.weight, 7.0)
    assert not progress.record({"epoch": 1}, 0.3, net)  # a tie is no gain
    assert not progress.record({"epoch": 2}, 0.1, net)
    assert (progress.best_epoch, progress.best_score, progress.stale) == (0, 0.3, 2)
    assert progress.best_state is not None and float(progress.best_state["weight"]) != 7.0
    assert [e["epoch"] for e in progress.history] == [0, 1, 2]
    assert progress.elapsed >= 0


def test_the_best_or_the_starting_weights_are_selected() -> None:
    cfg = load_config(None, **TINY, output="unused")
    net = torch.nn.Linear(1, 1)
    start = state_fp32(net)
    val = Validation([], None, [], 0.0, torch.device("cpu"))  # type: ignore[arg-type]
    progress = Progress()
    select_weights(cfg, net, net, progress, None, val, print)  # type: ignore[arg-type]
    assert progress.selected == "the starting weights (no epoch run)"
    torch.testing.assert_close(state_fp32(net), start)
    progress.record({"epoch": 0}, 1.0, net)
    torch.nn.init.constant_(net.weight, 7.0)
    ema_cfg = cfg.model_copy(update={"ema_decay": 0.9})
    select_weights(ema_cfg, net, net, progress, None, val, print)  # type: ignore[arg-type]
    # no validation scenes: the epoch was chosen on the training loss, and says so
    assert (
        progress.selected == "epoch 0 (best training loss (no validation)), weight EMA (decay 0.9)"
    )
    torch.testing.assert_close(state_fp32(net), start)
    assert make_ema(net, 0.0) is None and make_ema(net, 0.9) is not None


def test_precise_bn_averages_batch_statistics() -> None:
    class Chips:
        length = 3

        def __len__(self) -> int:
            return self.length

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.full((1, 2, 2), float(i)), torch.zeros(2, 2, dtype=torch.long)

    net = torch.nn.Sequential(torch.nn.BatchNorm2d(1))
    precise_bn(net, Chips(), batches=3, batch_size=1, device=torch.device("cpu"))  # type: ignore[arg-type]
    bn = net[0]
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.running_mean is not None
    assert float(bn.running_mean) == pytest.approx(1.0)  # mean of 0, 1, 2: an average, not EMA
    assert bn.momentum == 0.1 and not net.training


@pytest.mark.slow
def test_weight_ema_is_what_gets_validated_and_shipped(tmp_path: Path) -> None:
    """With a decay near 1 the average never leaves the weights after the first step."""
    run = {**TINY, "schedule": "constant", "precise_bn_batches": 0}
    one_step = train(load_config(None, **{**run, "chips_per_epoch": 2}, output=tmp_path / "one"))
    two_steps = train(load_config(None, **run, output=tmp_path / "two"))
    ema = train(load_config(None, **run, output=tmp_path / "ema", ema_decay=0.999999))
    w1, w2, we = (load_file(str(b.path / WEIGHTS_FILE)) for b in (one_step, two_steps, ema))
    assert not all(torch.equal(w1[k], w2[k]) for k in w1)
    for k in w1:
        assert torch.allclose(we[k].float(), w1[k].float(), atol=1e-3), k
    assert "weight EMA (decay 0.999999)" in ema.spec.provenance["selected"]
    assert np.isfinite(ema.spec.metrics["validation"]["overall_accuracy"])
