"""Start training from a bundle's weights (fine-tuning) rather than from random ones.

A bundle whose ASPP has image pooling can seed a network without it: the branch is folded into a
constant, its mean over training chips the size of a tile, so the local network starts out giving
nearly the same maps.
"""

from __future__ import annotations

import copy

import torch
from segmentation_models_pytorch.decoders.deeplabv3.decoder import ASPP
from torch import nn
from torch.utils.data import DataLoader

from geoseg.errors import BundleError, InputError
from geoseg.models.bundle import load_bundle
from geoseg.models.unet_aspp import LocalASPP, UnetASPP, fold_image_pooling
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import ChipDataset
from geoseg.train.sampler import ChipPlan
from geoseg.train.transforms import NO_AUGMENT

#: Chips over which the image-pooling branch is averaged before it is folded.
FOLD_CHIPS = 96


def warm_start(
    network: nn.Module, cfg: TrainConfig, data: ChipDataset, device: torch.device
) -> str:
    """Load ``cfg.init``'s weights into ``network``; returns what was done, for the log."""
    assert cfg.init is not None
    try:
        bundle = load_bundle(cfg.init)
    except BundleError as exc:
        raise InputError(f"init: {exc.what}", exc.where, "set init to a bundle folder") from exc
    source = copy.deepcopy(bundle.network).float().to(device).eval()
    state = source.state_dict()
    how = f"weights of {bundle.path}"
    if (
        isinstance(network, UnetASPP)
        and isinstance(network.aspp, LocalASPP)
        and isinstance(source, UnetASPP)
        and not isinstance(source.aspp, LocalASPP)
    ):
        state = fold_image_pooling(state, _mean_pooled(source, cfg, data, device))
        how += f", image pooling folded (mean over {FOLD_CHIPS} chips of {cfg.tile_size} px)"
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(
            "the init bundle's network differs from the configured one",
            cfg.init,
            "give a bundle with the same architecture, encoder, model_params, bands and classes",
        ) from exc
    return how


@torch.no_grad()
def _mean_pooled(
    source: UnetASPP, cfg: TrainConfig, data: ChipDataset, device: torch.device
) -> torch.Tensor:
    """The pooling branch's mean output over tile-sized training chips, as drawn (no jitter)."""
    plan = ChipPlan(size=cfg.tile_size, length=FOLD_CHIPS, seed=cfg.seed + 1)
    chips = ChipDataset(data.scenes, data.inputs, plan, NO_AUGMENT)
    assert isinstance(source.aspp, ASPP)
    pooling = source.aspp.convs[-1]
    outs = [
        pooling(source.encoder(x.to(device))[-1]).mean(dim=(2, 3))
        for x, _ in DataLoader(chips, batch_size=cfg.batch_size)
    ]
    return torch.cat(outs).mean(0).cpu()
