"""Fold the ASPP's image pooling into a constant, so a pixel's class no longer depends on the tile.

The pooling branch averages the whole tile, so the same pixel can change class with the tile size.
Replacing the branch by its mean over tile-sized training chips gives a local network whose maps
barely differ at the tile size it was trained for and do not move with the tile size. Used when
fine-tuning a local network from a pooling bundle, and at the end of a run with
``fold_image_pooling: true`` so one ``geoseg train`` command ships the local network.
"""

from __future__ import annotations

import torch
from segmentation_models_pytorch.decoders.deeplabv3.decoder import ASPP
from torch import nn
from torch.utils.data import DataLoader

from geoseg.models.unet_aspp import UnetASPP, fold_image_pooling
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import ChipDataset
from geoseg.train.sampler import ChipPlan
from geoseg.train.setup import build_network
from geoseg.train.transforms import NO_AUGMENT

#: Chips over which the image-pooling branch is averaged before it is folded.
FOLD_CHIPS = 96


def folded_state(
    source: UnetASPP, cfg: TrainConfig, data: ChipDataset, device: torch.device
) -> dict[str, torch.Tensor]:
    """``source``'s weights for the same network without image pooling."""
    return fold_image_pooling(source.state_dict(), mean_pooled(source, cfg, data, device))


def fold_network(
    network: nn.Module, cfg: TrainConfig, data: ChipDataset, device: torch.device
) -> nn.Module:
    """The local network (``aspp_pooling: false``) that ``network`` folds into, in eval mode."""
    assert isinstance(network, UnetASPP)
    local = build_network(local_config(cfg), device)
    local.load_state_dict(folded_state(network.eval(), cfg, data, device))
    return local.eval()


def local_config(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with the network it ships once folded: no image pooling."""
    return cfg.model_copy(update={"model_params": {**cfg.model_params, "aspp_pooling": False}})


@torch.no_grad()
def mean_pooled(
    source: UnetASPP, cfg: TrainConfig, data: ChipDataset, device: torch.device
) -> torch.Tensor:
    """The pooling branch's mean output over tile-sized training chips, as drawn (no jitter)."""
    plan = ChipPlan(size=cfg.tile_size, length=FOLD_CHIPS, seed=cfg.seed + 1)
    chips = ChipDataset(data.scenes, data.inputs, plan, NO_AUGMENT)
    assert isinstance(source.aspp, ASPP)
    pooling = source.aspp.convs[-1]
    outs = [
        pooling(source.encoder(x.to(device))[-1]).mean(dim=(2, 3))
        for x, *_ in DataLoader(chips, batch_size=cfg.batch_size)
    ]
    return torch.cat(outs).mean(0).cpu()
