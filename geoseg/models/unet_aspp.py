"""U-Net decoder with skip connections over an smp encoder, with ASPP on the deepest features.

The ASPP block (1×1 conv, three atrous 3×3 convs, image pooling) gives the deepest stage a
multi-scale context before the U-Net decoder restores full resolution through the skips: land cover
needs both the texture of a field and the layout of a town.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from segmentation_models_pytorch.base import SegmentationHead
from segmentation_models_pytorch.decoders.deeplabv3.decoder import ASPP
from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder
from segmentation_models_pytorch.encoders import get_encoder
from torch import nn


class UnetASPP(nn.Module):
    def __init__(
        self,
        encoder_name: str = "resnet18",
        in_channels: int = 12,
        classes: int = 9,
        encoder_depth: int = 5,
        decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
        aspp_channels: int = 128,
        aspp_rates: Sequence[int] = (2, 4, 6),
        aspp_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if len(aspp_rates) != 3:
            raise ValueError(f"ASPP takes three atrous rates, got {list(aspp_rates)}")
        if len(decoder_channels) != encoder_depth:
            raise ValueError("decoder_channels needs one entry per encoder stage")
        self.encoder = get_encoder(
            encoder_name, in_channels=in_channels, depth=encoder_depth, weights=None
        )
        channels = list(self.encoder.out_channels)
        self.aspp = ASPP(channels[-1], aspp_channels, tuple(aspp_rates), False, aspp_dropout)
        self.decoder = UnetDecoder(
            encoder_channels=[*channels[:-1], aspp_channels],
            decoder_channels=list(decoder_channels),
            n_blocks=encoder_depth,
        )
        self.head = SegmentationHead(decoder_channels[-1], classes, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = list(self.encoder(x))
        features[-1] = self.aspp(features[-1])
        return self.head(self.decoder(features))
