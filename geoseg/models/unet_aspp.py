"""U-Net decoder with skip connections over an smp encoder, with ASPP on the deepest features.

The ASPP block (1×1 conv, three atrous 3×3 convs, image pooling) gives the deepest stage a
multi-scale context before the U-Net decoder restores full resolution through the skips: land cover
needs both the texture of a field and the layout of a town.

Image pooling averages over the whole input, so a pixel's class then depends on which tile it falls
in; ``aspp_pooling=False`` drops that branch and makes the network local, hence tile-size invariant.

``output_stride=2`` ends the decoder at half resolution and upsamples the logits bilinearly: on a
CPU the full-resolution decoder block and head cost more than a small encoder (measured in
MODEL.md), and the teacher's probabilities are 20 m anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from segmentation_models_pytorch.base import SegmentationHead
from segmentation_models_pytorch.decoders.deeplabv3.decoder import ASPP, ASPPPooling
from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder
from segmentation_models_pytorch.encoders import get_encoder
from torch import nn
from torch.nn import functional as F


class LocalASPP(ASPP):
    """smp's ASPP without its image-pooling branch: every output depends on a bounded window."""

    convs: nn.ModuleList
    project: nn.Sequential

    def __init__(
        self, in_channels: int, out_channels: int, rates: Sequence[int], dropout: float
    ) -> None:
        super().__init__(in_channels, out_channels, tuple(rates), False, dropout)
        self.convs = nn.ModuleList(c for c in self.convs if not isinstance(c, ASPPPooling))
        self.project[0] = nn.Conv2d(
            len(self.convs) * out_channels, out_channels, kernel_size=1, bias=False
        )


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
        aspp_pooling: bool = True,
        output_stride: int = 1,
    ) -> None:
        super().__init__()
        if len(aspp_rates) != 3:
            raise ValueError(f"ASPP takes three atrous rates, got {list(aspp_rates)}")
        if output_stride not in (1, 2, 4):
            raise ValueError(f"output_stride must be 1, 2 or 4, got {output_stride}")
        blocks = encoder_depth - output_stride.bit_length() + 1
        if len(decoder_channels) != blocks:
            raise ValueError(
                f"decoder_channels needs {blocks} entries (one per decoder block) for "
                f"encoder_depth {encoder_depth} and output_stride {output_stride}"
            )
        self.output_stride = output_stride
        self.encoder = get_encoder(
            encoder_name, in_channels=in_channels, depth=encoder_depth, weights=None
        )
        channels = list(self.encoder.out_channels)
        self.aspp: nn.Module = (
            ASPP(channels[-1], aspp_channels, tuple(aspp_rates), False, aspp_dropout)
            if aspp_pooling
            else LocalASPP(channels[-1], aspp_channels, aspp_rates, aspp_dropout)
        )
        self.decoder = UnetDecoder(
            encoder_channels=[*channels[:-1], aspp_channels],
            decoder_channels=list(decoder_channels),
            n_blocks=blocks,
        )
        self.head = SegmentationHead(decoder_channels[-1], classes, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = list(self.encoder(x))
        features[-1] = self.aspp(features[-1])
        logits = self.head(self.decoder(features))
        if self.output_stride == 1:
            return logits
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def fold_image_pooling(
    state: dict[str, torch.Tensor], pooled: torch.Tensor
) -> dict[str, torch.Tensor]:
    """A pooling UnetASPP's weights for the same network with a :class:`LocalASPP`.

    The pooling branch adds ``W_pool @ pooled`` before the projection's BatchNorm; with ``pooled``
    fixed (its mean over typical tiles) that is a constant, which the BatchNorm mean absorbs.
    """
    # smp's ASPP puts the pooling branch last among its convs, and last in the projection's input
    last = max(int(k.split(".")[2]) for k in state if k.startswith("aspp.convs."))
    out = {k: v for k, v in state.items() if not k.startswith(f"aspp.convs.{last}.")}
    weight = out["aspp.project.0.weight"]
    n = pooled.numel()
    out["aspp.project.0.weight"] = weight[:, :-n]
    shift = weight[:, -n:, 0, 0].float() @ pooled.float()
    out["aspp.project.1.running_mean"] = out["aspp.project.1.running_mean"] - shift
    return out
