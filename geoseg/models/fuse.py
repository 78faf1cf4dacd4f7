"""Fold BatchNorm into the preceding convolution for inference.

In eval mode a BatchNorm is an affine map, so it can live inside the convolution's weights: same
outputs (to float rounding), one pass over memory less per layer. That is ~10 % of CPU time for
U-Net-style networks. Handles the two layouts smp and torchvision use: ``Sequential(conv, bn, …)``
and sibling attributes ``convN``/``bnN``. timm's ``BatchNormAct2d`` (a BatchNorm with its activation
inside) keeps its activation; any other BatchNorm subclass is left alone.
"""

from __future__ import annotations

import copy
import itertools

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fuse_batchnorm(network: nn.Module) -> nn.Module:
    """A copy of an eval-mode ``network`` with every conv→BatchNorm pair folded together."""
    net = copy.deepcopy(network).eval()
    for module in net.modules():
        if isinstance(module, nn.Sequential):
            items = list(module._modules.items())
            for (conv_name, conv), (bn_name, bn) in itertools.pairwise(items):
                if (
                    isinstance(conv, nn.Conv2d)
                    and isinstance(bn, nn.BatchNorm2d)
                    and _fits(conv, bn)
                ):
                    module._modules[conv_name] = fuse_conv_bn_eval(conv, bn)
                    module._modules[bn_name] = _after(bn)
        for name, child in list(module.named_children()):
            if name.startswith("conv"):
                bn_name = "bn" + name[len("conv") :]
                sibling = getattr(module, bn_name, None)
                if (
                    isinstance(child, nn.Conv2d)
                    and isinstance(sibling, nn.BatchNorm2d)
                    and _fits(child, sibling)
                ):
                    setattr(module, name, fuse_conv_bn_eval(child, sibling))
                    setattr(module, bn_name, _after(sibling))
    return net


def _fits(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> bool:
    plain = type(bn) is nn.BatchNorm2d or _is_norm_act(bn)
    return plain and bool(bn.track_running_stats) and conv.out_channels == bn.num_features


def _is_norm_act(bn: nn.BatchNorm2d) -> bool:
    """timm's BatchNormAct2d: normalise, then ``drop``, then ``act`` (nothing else)."""
    return type(bn).__name__ == "BatchNormAct2d" and hasattr(bn, "act") and hasattr(bn, "drop")


def _after(bn: nn.BatchNorm2d) -> nn.Module:
    """What is left of a folded BatchNorm: nothing, or timm's dropout and activation."""
    if _is_norm_act(bn):
        drop, act = bn.get_submodule("drop"), bn.get_submodule("act")
        return nn.Sequential(drop, act)
    return nn.Identity()
