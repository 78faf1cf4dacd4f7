"""The network in int8: static quantization with ONNX Runtime, calibrated on real scenes.

Weights are int8 per output channel and activations uint8 (the U8S8 pair ONNX Runtime's kernels
run fastest), as QDQ nodes in a plain ONNX graph: a file that loads without unpickling and runs on
any CPU. Weights use 7 bits (``reduce_range``): AVX2 without VNNI multiplies uint8 by int8 in pairs
summed into int16, which saturates with 8-bit weights (255 × 127 × 2 > 32767) but never with 7-bit
ones (±64), so the integers are exact on AVX2 and VNNI alike and one check holds for both (on the
shipped model: fp32's class on 99.73 % of the validation pixels, against 99.75 % with 8 bits).

The first convolution (raw spectra: ranges differ widely by band) and the last five (the U-Net
decoder's two finest blocks and the class head) stay in float32: on the shipped model, quantizing
the finest decoder blocks turned a sixth of the bright "snow and ice" pixels of the Las Vegas
validation crops into other classes (snow agreement with fp32 84 % against 99.6 % with them in
float), for 7 % of int8's speed. Activation ranges are the mean over calibration tiles of each
tile's min/max (one bright roof or glint tile would otherwise stretch a range for every pixel),
read from real scenes: the same features the network sees at run time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
from rasterio.windows import Window

from geoseg.io.reader import open_scene
from geoseg.models.bundle import INT8_FILE, Bundle, PrecisionCheck, save_spec
from geoseg.models.export import export_network
from geoseg.models.inputs import features

#: how many tiles calibrate the activation ranges. On 8 validation tiles, class agreement with
#: fp32: every layer quantized, 9 tiles, plain min/max 98.5 %; first and last layers in fp32,
#: 28 tiles: min/max 99.1 %, entropy 99.1 %, percentile 99.99 99.7 %, moving-average min/max
#: 99.7 % (the choice: as good as percentile at a fifth of the time). On the whole validation
#: crops, the largest class IoU change: 32 tiles 0.59 points, 64 and 128 tiles 0.53.
CALIBRATION_TILES = 64


def calibration_tiles(
    bundle: Bundle, scenes: Sequence[str | Path], n: int = CALIBRATION_TILES, seed: int = 0
) -> list[np.ndarray]:
    """``n`` model inputs of at most one tile each, at random places in scenes drawn evenly."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(scenes))
    mean = np.asarray(bundle.spec.normalization.mean, dtype=np.float32)
    std = np.asarray(bundle.spec.normalization.std, dtype=np.float32)
    size = bundle.spec.tile_size
    tiles: list[np.ndarray] = []
    for k in range(n):
        scene = open_scene(scenes[int(order[k % len(scenes)])])
        h, w = min(size, scene.grid.height), min(size, scene.grid.width)
        row = int(rng.integers(0, scene.grid.height - h + 1))
        col = int(rng.integers(0, scene.grid.width - w + 1))
        refl, valid = scene.read(Window(col, row, w, h), bundle.read_bands)
        h32, w32 = h - h % 32, w - w % 32  # the network's stride
        x = features(refl, valid, bundle.spec.bands, bundle.spec.indices, mean, std)
        tiles.append(np.ascontiguousarray(x[:, :h32, :w32])[None])
    return tiles


def quantize_int8(bundle: Bundle, tiles: Sequence[np.ndarray]) -> bytes:
    """The bundle's network as an int8 ONNX model, activation ranges from ``tiles``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._tiles: Iterator[np.ndarray] = iter(tiles)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._tiles, None)
            return None if x is None else {"features": x}

    with tempfile.TemporaryDirectory(prefix="geoseg-int8-") as tmp:
        plain, prepared, out = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        export_network(bundle, plain)
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared)).graph
        quantize_static(
            str(prepared),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},
            nodes_to_exclude=_float_nodes(graph),
        )
        return out.read_bytes()


#: convolutions kept in float32 at the end of the graph (two decoder blocks of two, the head)
FLOAT_TAIL = 5


def _float_nodes(graph: onnx.GraphProto) -> list[str]:
    """The first convolution (it reads the graph's input) and the last :data:`FLOAT_TAIL`."""
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    return [convs[0], *convs[-FLOAT_TAIL:]]


def save_int8(bundle: Bundle, model: bytes, check: PrecisionCheck) -> Bundle:
    """Write ``model`` as the bundle's ``int8.onnx`` (temp file, then rename) with its check;
    returns the bundle reloaded."""
    record = check.model_copy(
        update={"sha256": hashlib.sha256(model).hexdigest(), "built_from": bundle.sha256}
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{INT8_FILE}.", dir=bundle.path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(model)
    Path(tmp).chmod(0o644)
    os.replace(tmp, bundle.path / INT8_FILE)
    precisions = {**bundle.spec.precisions, "int8": record}
    return save_spec(bundle.path, bundle.spec.model_copy(update={"precisions": precisions}))
