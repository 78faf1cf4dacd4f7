"""Fine-tuning from a bundle: the same network, a pooling bundle folded into a local network,
and the bundles that cannot seed the configured network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from geoseg.errors import InputError
from geoseg.models.bundle import load_bundle
from geoseg.models.registry import build_model
from geoseg.train import load_config, train
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import ChipDataset, ModelInput, normalisation, open_scenes
from geoseg.train.sampler import ChipPlan
from geoseg.train.warm_start import warm_start
from tests.conftest import NORCIA_LABELLED as NORCIA

PARAMS = {"decoder_channels": [64, 32, 16, 16, 8], "aspp_channels": 64}  # as in make_spec


def _start(init: Path, **params: Any) -> tuple[TrainConfig, nn.Module, str]:
    cfg = load_config(
        None, train=[str(NORCIA)], init=str(init), model_params=params, chip_size=64,
        batch_size=8, tile_size=64, output="unused",
    )  # fmt: skip
    scenes = open_scenes(cfg, cfg.train)
    mean, std = normalisation(scenes, cfg.bands, cfg.indices)
    data = ChipDataset(scenes, ModelInput(cfg.bands, cfg.indices, mean, std), ChipPlan(64, 4))
    network = build_model(cfg.architecture, cfg.encoder, 12, 9, **cfg.model_params)
    return cfg, network, warm_start(network, cfg, data, torch.device("cpu"))


def _source(bundle_dir: Path) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in load_bundle(bundle_dir).network.state_dict().items()}


def test_the_same_network_starts_from_the_bundle_weights(bundle_dir: Path) -> None:
    _, network, how = _start(bundle_dir, **PARAMS)
    assert how == f"weights of {bundle_dir}" and "folded" not in how
    source = _source(bundle_dir)
    for k, v in network.state_dict().items():
        torch.testing.assert_close(v.float(), source[k], msg=k)


@pytest.mark.slow  # the pooling branch runs over 96 real chips
def test_a_pooling_bundle_seeds_a_local_network(bundle_dir: Path) -> None:
    _, network, how = _start(bundle_dir, **PARAMS, aspp_pooling=False)
    assert "image pooling folded (mean over 96 chips of 64 px)" in how
    source, state = _source(bundle_dir), network.state_dict()
    assert len(network.aspp.convs) == 4 and not any(k.startswith("aspp.convs.4") for k in state)
    torch.testing.assert_close(state["encoder.conv1.weight"], source["encoder.conv1.weight"])
    c = PARAMS["aspp_channels"]
    torch.testing.assert_close(
        state["aspp.project.0.weight"], source["aspp.project.0.weight"][:, : 4 * c]
    )
    # the pooling branch's constant went into the projection's BatchNorm mean
    shift = source["aspp.project.1.running_mean"] - state["aspp.project.1.running_mean"]
    assert shift.abs().max() > 0


def test_another_network_is_refused(bundle_dir: Path) -> None:
    with pytest.raises(InputError, match="init bundle's network differs"):
        _start(bundle_dir, decoder_channels=[32, 16, 16, 8, 8], aspp_channels=64)


def test_a_missing_init_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^init: not a model bundle .*no-such-bundle.*: set init"):
        _start(tmp_path / "no-such-bundle", **PARAMS)


@pytest.mark.slow
def test_zero_epochs_write_the_starting_weights(bundle_dir: Path, tmp_path: Path) -> None:
    """``epochs: 0`` measures and ships a folded network without training it."""
    bundle = train(
        None, train=[str(NORCIA)], val=[str(NORCIA)], init=str(bundle_dir), epochs=0,
        model_params={**PARAMS, "aspp_pooling": False}, tile_size=64, chip_size=64,
        output=str(tmp_path / "folded"), fp16_weights=False,
    )  # fmt: skip
    assert bundle.spec.provenance["selected"] == "the starting weights (no epoch run)"
    assert bundle.spec.provenance["history"] == []
    assert "overall_accuracy" in bundle.spec.metrics["validation"]
    source, state = _source(bundle_dir), load_bundle(tmp_path / "folded").network.state_dict()
    torch.testing.assert_close(state["decoder.blocks.0.conv1.0.weight"].float(),
                               source["decoder.blocks.0.conv1.0.weight"])  # fmt: skip
    assert not (tmp_path / "folded.ckpt").exists()  # nothing trained, nothing to resume
