"""int8 quantization: calibration tiles from real scenes, a QDQ graph that runs in ONNX Runtime,
the sensitive convolutions left in float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from geoseg.engine.predict import int8_session
from geoseg.models.bundle import load_bundle
from geoseg.models.fuse import fuse_batchnorm
from geoseg.models.quantize import FLOAT_TAIL, calibration_tiles, quantize_int8
from tests.conftest import BEIRUT, NORCIA


def test_calibration_tiles_are_model_inputs_cut_to_the_network_stride(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    tiles = calibration_tiles(bundle, [NORCIA, BEIRUT], n=4)
    assert len(tiles) == 4
    for x in tiles:
        assert x.dtype == np.float32 and x.shape[:2] == (1, len(bundle.spec.channels))
        assert x.shape[2] % 32 == 0 and 0 < x.shape[2] <= bundle.spec.tile_size
    again = calibration_tiles(bundle, [NORCIA, BEIRUT], n=4)
    assert all(np.array_equal(a, b) for a, b in zip(tiles, again, strict=True))  # seeded


@pytest.mark.slow
def test_int8_model_runs_and_keeps_the_first_and_last_convolutions_in_float(
    bundle_dir: Path,
) -> None:
    bundle = load_bundle(bundle_dir)
    tiles = calibration_tiles(bundle, [BEIRUT], n=2)
    model = quantize_int8(bundle, tiles)
    graph = onnx.load_from_string(model).graph
    convs = [n for n in graph.node if n.op_type == "Conv"]
    made_by = {o: n.op_type for n in graph.node for o in n.output}
    # a quantized convolution's weights come out of a DequantizeLinear node (int8 stored);
    # a float one reads its float32 weights directly
    quantized = [made_by.get(c.input[1]) == "DequantizeLinear" for c in convs]
    assert not quantized[0] and not any(quantized[-FLOAT_TAIL:])
    assert all(quantized[1:-FLOAT_TAIL])
    # 7-bit weights (±64): 255 × 64 × 2 fits int16, so AVX2 is exact, as VNNI is
    stored = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    dequantized = [n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"]
    weights = [stored[n] for n in dequantized if n in stored and stored[n].dtype == np.int8]
    assert len(weights) == sum(quantized)  # one int8 tensor per quantized convolution
    assert all(np.abs(w.astype(np.int32)).max() <= 64 for w in weights)  # 8 bits: ±127
    x = tiles[0]
    (logits,) = int8_session(model).run(None, {"features": x})
    with torch.inference_mode():
        ref = fuse_batchnorm(bundle.network)(torch.from_numpy(x)).numpy()
    assert logits.shape == ref.shape
    assert (logits.argmax(1) == ref.argmax(1)).mean() > 0.9
