"""The U-Net/ASPP network: ASPP placement, the local (pooling-free) variant and its folding."""

import pytest
import torch

from geoseg.models.unet_aspp import UnetASPP, fold_image_pooling


def test_aspp_sits_on_the_deepest_stage() -> None:
    net = UnetASPP("resnet18", in_channels=4, classes=3, aspp_channels=48)
    convs = net.aspp.convs
    assert len(convs) == 5  # 1x1, three atrous, image pooling
    assert convs[0][0].in_channels == net.encoder.out_channels[-1]
    assert [c[0].dilation[0] for c in list(convs)[1:4]] == [2, 4, 6]


@pytest.mark.parametrize("pooling", [True, False])
def test_without_image_pooling_far_pixels_do_not_change_the_class(pooling: bool) -> None:
    """What makes a model tile-size invariant: a pixel sees a bounded window, not the whole tile."""
    torch.manual_seed(0)
    net = UnetASPP(
        "resnet18",
        in_channels=2,
        classes=3,
        decoder_channels=[16, 8, 8, 8, 8],
        aspp_channels=16,
        aspp_pooling=pooling,
    ).eval()
    assert len(net.aspp.convs) == (5 if pooling else 4)
    x = torch.randn(1, 2, 1024, 64)
    changed = x.clone()
    changed[..., :64, :] += 5.0  # the first 64 rows only
    with torch.inference_mode():
        far = (net(x) - net(changed))[..., 960:, :].abs().amax().item()
    assert (far > 0) == pooling


def test_folding_the_pooling_branch_keeps_the_output_for_its_pooled_value() -> None:
    """With the pooled vector it was folded with, the local network gives the same output."""
    torch.manual_seed(0)
    params = {"decoder_channels": [16, 8, 8, 8, 8], "aspp_channels": 16}
    pooling = UnetASPP("resnet18", in_channels=3, classes=4, **params).eval()
    local = UnetASPP("resnet18", in_channels=3, classes=4, aspp_pooling=False, **params).eval()
    for bn in pooling.modules():  # non-trivial BatchNorm statistics
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 3, 128, 96)
    with torch.inference_mode():
        deepest = pooling.encoder(x)[-1]
        pooled = pooling.aspp.convs[4](deepest).mean(dim=(2, 3))[0]
        local.load_state_dict(fold_image_pooling(pooling.state_dict(), pooled))
        torch.testing.assert_close(local.aspp(deepest), pooling.aspp(deepest), atol=1e-4, rtol=0)
        torch.testing.assert_close(local(x), pooling(x), atol=1e-5, rtol=0)
        local.load_state_dict(fold_image_pooling(pooling.state_dict(), pooled + 1.0))
        assert (local.aspp(deepest) - pooling.aspp(deepest)).abs().max() > 0.1


def test_a_half_resolution_decoder_returns_full_resolution_logits() -> None:
    torch.manual_seed(0)
    net = UnetASPP(
        "resnet18", 12, 9, decoder_channels=(32, 16, 16, 8), aspp_channels=16, output_stride=2
    ).eval()
    x = torch.randn(1, 12, 64, 96)
    with torch.no_grad():
        out = net(x)
        inner = net.head(net.decoder([*net.encoder(x)[:-1], net.aspp(net.encoder(x)[-1])]))
    assert out.shape == (1, 9, 64, 96) and inner.shape == (1, 9, 32, 48)
    up = torch.nn.functional.interpolate(inner, size=(64, 96), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, up)
    with pytest.raises(ValueError, match="decoder_channels needs 4 entries"):
        UnetASPP("resnet18", 12, 9, decoder_channels=(32, 16, 16, 8, 8), output_stride=2)
    with pytest.raises(ValueError, match="output_stride must be 1, 2 or 4"):
        UnetASPP("resnet18", 12, 9, output_stride=3)
