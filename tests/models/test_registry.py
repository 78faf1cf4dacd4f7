import pytest
import torch

from geoseg.models.registry import build_model
from geoseg.models.unet_aspp import UnetASPP


def test_unet_aspp_keeps_the_input_resolution() -> None:
    net = build_model(
        "unet_aspp",
        "resnet18",
        in_channels=12,
        classes=9,
        decoder_channels=[32, 16, 16, 8, 8],
        aspp_channels=32,
        aspp_rates=[1, 2, 3],
    )
    assert isinstance(net, UnetASPP)
    with torch.inference_mode():
        assert net.eval()(torch.randn(1, 12, 96, 128)).shape == (1, 9, 96, 128)


@pytest.mark.parametrize("arch", ["unet", "deeplabv3plus", "fpn"])
def test_smp_architectures_by_name(arch: str) -> None:
    net = build_model(arch, "resnet18", in_channels=12, classes=9)
    with torch.inference_mode():
        assert net.eval()(torch.randn(1, 12, 64, 64)).shape == (1, 9, 64, 64)


def test_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("segnet", "resnet18", 12, 9)
