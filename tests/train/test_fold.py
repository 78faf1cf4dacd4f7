"""``fold_image_pooling``: one run trains with image pooling and ships the folded, local network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from geoseg.errors import InputError
from geoseg.models.bundle import load_bundle
from geoseg.models.unet_aspp import LocalASPP
from geoseg.train import load_config, train
from tests.train.conftest import TINY


@pytest.mark.slow
def test_a_run_ships_its_selected_weights_folded(tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt"
    common = {**TINY, "tile_size": 64, "checkpoint": ckpt, "fp16_weights": False}
    pooling = train(load_config(None, **common, output=tmp_path / "pooling"))
    # Folding happens after selection, so the finished run can be shipped folded by resuming it.
    lines: list[str] = []
    cfg = load_config(
        None, **common, output=tmp_path / "folded", fold_image_pooling=True, resume=True
    )
    folded = train(cfg, report=lines.append)
    assert any("image pooling folded (mean over 96 chips of 64 px)" in s for s in lines)
    network = load_bundle(tmp_path / "folded").network
    assert isinstance(network.aspp, LocalASPP)  # type: ignore[union-attr]
    assert folded.spec.model.params["aspp_pooling"] is False
    trained_as = folded.spec.provenance["config"]  # the recipe, as trained: with pooling
    assert trained_as["fold_image_pooling"] and "aspp_pooling" not in trained_as["model_params"]
    assert folded.spec.provenance["history"] == pooling.spec.provenance["history"]
    before, after = pooling.network.state_dict(), network.state_dict()
    torch.testing.assert_close(after["encoder.conv1.weight"], before["encoder.conv1.weight"])
    mean = "aspp.project.1.running_mean"
    assert not torch.equal(after[mean], before[mean])  # the pooled constant went in here
    assert "overall_accuracy" in folded.spec.metrics["validation"]  # measured folded


def test_only_a_pooling_unet_aspp_can_be_folded() -> None:
    local = {**TINY["model_params"], "aspp_pooling": False}
    with pytest.raises(InputError, match="fold_image_pooling needs a unet_aspp network"):
        load_config(None, **{**TINY, "model_params": local}, fold_image_pooling=True)
