"""Build a network from its bundle description: ``unet_aspp`` or any smp architecture by name."""

from __future__ import annotations

from typing import Any

import segmentation_models_pytorch as smp
from torch import nn

from geoseg.models.unet_aspp import UnetASPP

ARCHITECTURES: tuple[str, ...] = ("unet_aspp", *sorted(smp.MODEL_ARCHITECTURES_MAPPING))


def build_model(
    architecture: str, encoder: str, in_channels: int, classes: int, **params: Any
) -> nn.Module:
    """A randomly initialised network; weights come from a bundle, never from a hub."""
    arch = architecture.lower()
    if arch == "unet_aspp":
        return UnetASPP(encoder, in_channels=in_channels, classes=classes, **params)
    if arch not in smp.MODEL_ARCHITECTURES_MAPPING:
        raise ValueError(f"unknown architecture {architecture!r}; choose from {ARCHITECTURES}")
    return smp.create_model(
        arch,
        encoder_name=encoder,
        encoder_weights=None,
        in_channels=in_channels,
        classes=classes,
        **params,
    )
