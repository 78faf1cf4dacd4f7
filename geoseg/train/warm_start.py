"""Start training from a bundle's weights (fine-tuning) rather than from random ones.

A bundle whose ASPP has image pooling can seed a network without it: the branch is folded
(:mod:`geoseg.train.fold`), so the local network starts out giving nearly the same maps.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from geoseg.errors import BundleError, InputError
from geoseg.models.bundle import load_bundle
from geoseg.models.unet_aspp import LocalASPP, UnetASPP
from geoseg.train.config import TrainConfig
from geoseg.train.dataset import ChipDataset
from geoseg.train.fold import FOLD_CHIPS, folded_state


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
        state = folded_state(source, cfg, data, device)
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
