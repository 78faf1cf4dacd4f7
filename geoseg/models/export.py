"""ONNX export of a model bundle, for runtimes without geoseg.

Two graphs:

* :func:`export_network`: the network alone (BatchNorm folded), ``features`` in (exactly what
  :func:`geoseg.models.inputs.features` makes), ``logits`` out, any batch, height and width. A plain
  graph for int8 quantisation and for callers that do their own preprocessing.
* :func:`export_onnx`: a standalone analyst model. It takes the raw Sentinel-2 Level-1C digital
  numbers of :attr:`Bundle.read_bands` (what QGIS shows for a band stack), so nothing outside the
  file needs to know the scaling, the spectral indices or the normalisation: all of them run in the
  graph, mirroring :mod:`geoseg.io` (``(DN + offset) / 10000``, DN 0 = no data),
  :mod:`geoseg.indices` and :mod:`geoseg.models.inputs` operation by operation so the network sees
  the inputs it was trained on. Out come calibrated class probabilities (``softmax(logits / T)``,
  as :class:`geoseg.engine.predict.Predictor`), with the metadata the QGIS Deepness plugin reads.

Both use the ``torch.export`` (dynamo) exporter: the TorchScript one is deprecated, and dynamo's
graph is the cleaner one (no Constant/Gather/Unsqueeze shape arithmetic, one ReduceMean for the
ASPP pooling), which is what quantisation tools and readers of the graph want.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import Tensor, nn

from geoseg import indices as index_registry
from geoseg._version import __version__
from geoseg.errors import BundleError, OptionError, OutputError
from geoseg.models.bundle import Bundle, BundleSpec
from geoseg.models.fuse import fuse_batchnorm

#: ONNX opset: 18 runs on onnxruntime ≥ 1.14 (QGIS installs often lag) and quantises with it.
OPSET = 18
#: DN per unit reflectance of Sentinel-2 L1C/L2A products (``geoseg.io.geotiff.QUANTIFICATION``).
QUANTIFICATION = 10000.0
#: Reflectance beyond this magnitude is no measurement (``geoseg.io.scene.MAX_REFLECTANCE``).
MAX_REFLECTANCE = 100.0
#: Sentinel-2 DN of "no data".
NODATA_DN = 0.0
#: Deepness divides every input value by 255 before its standardisation (x - mean) / std;
#: a std of 1/255 undoes that, so the graph receives the raster's DN.
DEEPNESS_STD = 1.0 / 255.0
#: Spatial resolution of the models' pixel grid (Sentinel-2 10 m bands), cm per pixel.
RESOLUTION_CM = 1000


def _ratio(num: Tensor, den: Tensor) -> Tensor:
    """``geoseg.indices._ratio``: a zero denominator gives 0."""
    nonzero = den != 0
    return torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)), 0.0)


def _nd(a: Tensor, b: Tensor) -> Tensor:
    return _ratio(a - b, a + b)


#: In-graph twins of the formulas in :data:`geoseg.indices.REGISTRY`, operation for operation
#: (same order, float32), so they agree bit for bit; a test checks every registered index.
FORMULAS: dict[str, Callable[..., Tensor]] = {
    "NDVI": _nd,
    "NDWI": _nd,
    "MNDWI": _nd,
    "NDBI": _nd,
    "SAVI": lambda n, r: 1.5 * _ratio(n - r, n + r + 0.5),
    "EVI": lambda n, r, b: 2.5 * _ratio(n - r, n + 6 * r - 7.5 * b + 1),
}


def index_channels(names: list[str], refl: dict[str, Tensor], valid: Tensor) -> list[Tensor]:
    """``geoseg.indices.compute`` in torch: clip to the index's range, NaN and invalid → 0."""
    out = []
    for name in names:
        idx = index_registry.get(name)
        value = FORMULAS[idx.name](*(refl[b] for b in idx.bands))
        value = torch.where(torch.isnan(value), 0.0, value)  # numpy clips ±inf, zeroes NaN
        value = torch.clamp(value, float(idx.limits[0]), float(idx.limits[1]))
        out.append(torch.where(valid, value, 0.0))
    return out


class Standalone(nn.Module):
    """Raw L1C DN ``(N, len(read_bands), H, W)`` → class probabilities ``(N, classes, H, W)``."""

    mean: Tensor
    inv_std: Tensor

    def __init__(self, bundle: Bundle, dn_offset: float = 0.0) -> None:
        super().__init__()
        spec = bundle.spec
        missing = [n for n in spec.indices if index_registry.get(n).name not in FORMULAS]
        if missing:
            raise BundleError(
                f"no in-graph formula for index {', '.join(missing)}",
                bundle.path,
                "add it to geoseg.models.export.FORMULAS",
            )
        self.network = fuse_batchnorm(bundle.network)
        self.read = bundle.read_bands
        self.n_bands = len(spec.bands)
        self.index_names = list(spec.indices)
        mean = np.asarray(spec.normalization.mean, dtype=np.float32)
        std = np.asarray(spec.normalization.std, dtype=np.float32)
        self.register_buffer("mean", torch.from_numpy(mean).reshape(1, -1, 1, 1))
        self.register_buffer("inv_std", torch.from_numpy(1.0 / std).reshape(1, -1, 1, 1))
        # as geoseg.io: gain 1/10000, offset in reflectance = DN offset × gain, added in float32
        self.offset = float(np.float32(dn_offset * (1.0 / QUANTIFICATION)))
        self.temperature = float(spec.temperature)

    def forward(self, dn: Tensor) -> Tensor:
        valid = (dn != NODATA_DN).all(dim=1, keepdim=True)
        refl = dn / QUANTIFICATION
        if self.offset:
            refl = refl + self.offset
        valid = valid & (refl.abs() <= MAX_REFLECTANCE).all(dim=1, keepdim=True)
        refl = torch.where(valid, refl, 0.0)
        named = {b: refl[:, i : i + 1] for i, b in enumerate(self.read)}
        x = torch.cat([refl[:, : self.n_bands], *index_channels(self.index_names, named, valid)], 1)
        x = (x - self.mean) * self.inv_std * valid.to(x.dtype)
        logits = self.network(x)
        return torch.softmax(logits / self.temperature, dim=1)


def export_network(bundle: Bundle, path: str | Path, overwrite: bool = False) -> Path:
    """Write the network alone: ``features`` (N, C, H, W) float32 → ``logits`` (N, classes, H, W).

    BatchNorm is folded (as the Predictor runs it); no softmax, no preprocessing, so onnxruntime's
    quantiser sees only the layers to quantise. Batch, height and width are dynamic.
    """
    target = _check_target(path, overwrite)
    network = fuse_batchnorm(bundle.network)
    c = len(bundle.spec.channels)
    size = bundle.spec.tile_size
    example = torch.zeros((2, c, size, size), dtype=torch.float32)
    shapes = ({0: "batch", 2: "height", 3: "width"},)
    model = _to_onnx(network, example, "features", "logits", shapes)
    model.doc_string = (
        f"{bundle.spec.name}: network only. Input 'features' = geoseg.models.inputs.features() "
        f"({', '.join(bundle.spec.channels)}, normalised, invalid pixels 0); output 'logits'."
    )
    _set_metadata(
        model, {**_geoseg_metadata(bundle.spec, bundle.sha256), "geoseg_graph": "network"}
    )
    return _write(model, target)


def export_onnx(
    bundle: Bundle, path: str | Path, dn_offset: float = 0.0, overwrite: bool = False
) -> Path:
    """Write the standalone analyst model: raw L1C DN in, calibrated class probabilities out.

    Input ``bands`` (N, len(read_bands), tile, tile) float32: the DN of
    :attr:`Bundle.read_bands` in that order, 0 = no data; ``dn_offset`` is the product's
    radiometric offset in DN (0 before processing baseline 04.00, -1000 from it on). Height and
    width are fixed at the bundle's tile size: Deepness reads its tile size from the input shape,
    and the ASPP's image pooling makes classes depend on the tile size (geoseg's own is used).
    Output ``probabilities`` (N, classes, tile, tile). Metadata: Deepness keys and ``geoseg_*``.
    """
    if not math.isfinite(dn_offset) or abs(dn_offset) >= QUANTIFICATION:
        raise OptionError(f"DN offset {dn_offset!r} is out of range", None, "use 0 or -1000")
    target = _check_target(path, overwrite)
    module = Standalone(bundle, dn_offset).eval()
    size = bundle.spec.tile_size
    example = torch.full((2, len(module.read), size, size), 1000.0, dtype=torch.float32)
    model = _to_onnx(module, example, "bands", "probabilities", ({0: "batch"},))
    model.doc_string = contract(bundle, dn_offset)
    meta = {**deepness_metadata(bundle), **_geoseg_metadata(bundle.spec, bundle.sha256)}
    meta |= {
        "geoseg_graph": "standalone",
        "geoseg_input": json.dumps(_input_meta(bundle, dn_offset)),
    }
    _set_metadata(model, meta)
    return _write(model, target)


def contract(bundle: Bundle, dn_offset: float) -> str:
    """The standalone model's input contract in one paragraph (the model's doc string)."""
    size = bundle.spec.tile_size
    return (
        f"{bundle.spec.name}. Input 'bands' float32 (N, {len(bundle.read_bands)}, {size}, {size}): "
        f"Sentinel-2 Level-1C digital numbers of {', '.join(bundle.read_bands)} in this order on "
        f"the 10 m grid (20 m bands resampled bilinearly), 0 = no data; reflectance = "
        f"(DN + {dn_offset:g}) / {QUANTIFICATION:g}. Output 'probabilities' float32 (N, "
        f"{len(bundle.classes)}, {size}, {size}): calibrated class probabilities, classes "
        + ", ".join(f"{c.id} {c.name}" for c in bundle.classes)
        + "."
    )


def deepness_metadata(bundle: Bundle) -> dict[str, str]:
    """What the QGIS Deepness plugin reads from ``metadata_props`` (each value JSON-encoded).

    ``seg_thresh`` 0 turns its probability threshold off (argmax alone, as geoseg) and
    ``seg_small_segment`` 0 its median filter; the standardisation undoes its division by 255.
    Deepness's code reads ``tile_size``, its documentation says ``tiles_size``: both are set.
    """
    spec = bundle.spec
    n = len(bundle.read_bands)
    overlap_pct = math.ceil(100 * spec.overlap / spec.tile_size)
    values: dict[str, object] = {
        "model_type": "Segmentor",
        "class_names": {str(c.id): c.name for c in spec.classes},
        "resolution": RESOLUTION_CM,
        "tile_size": spec.tile_size,
        "tiles_size": spec.tile_size,
        "tiles_overlap": overlap_pct,
        "seg_thresh": 0.0,
        "seg_small_segment": 0,
        "standardization_mean": [0.0] * n,
        "standardization_std": [DEEPNESS_STD] * n,
    }
    return {k: json.dumps(v) for k, v in values.items()}


def _geoseg_metadata(spec: BundleSpec, sha256: str) -> dict[str, str]:
    classes = [c.model_dump() for c in spec.classes]
    return {
        "geoseg_version": __version__,
        "geoseg_bundle": spec.name,
        "geoseg_weights_sha256": sha256,
        "geoseg_classes": json.dumps(classes),
        "geoseg_channels": json.dumps(spec.channels),
        "geoseg_normalization": spec.normalization.model_dump_json(),
        "geoseg_temperature": json.dumps(spec.temperature),
        "geoseg_tile_size": json.dumps(spec.tile_size),
        "geoseg_overlap": json.dumps(spec.overlap),
        "geoseg_processing_levels": json.dumps(spec.processing_levels),
    }


def _input_meta(bundle: Bundle, dn_offset: float) -> dict[str, object]:
    return {
        "name": "bands",
        "bands": bundle.read_bands,
        "values": "Sentinel-2 Level-1C digital numbers (DN), float32",
        "nodata": NODATA_DN,
        "dn_offset": dn_offset,
        "reflectance": f"(DN + dn_offset) / {QUANTIFICATION:g}",
        "resolution_m": RESOLUTION_CM / 100,
        "output": "probabilities: softmax(logits / temperature) over the classes",
    }


def _to_onnx(
    module: nn.Module,
    example: Tensor,
    input_name: str,
    output_name: str,
    shapes: tuple[dict[int, str], ...],
) -> onnx.ModelProto:
    """Trace ``module`` with the dynamo exporter into an in-memory ModelProto."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on opsets and deprecations
        program = torch.onnx.export(
            module.eval(),
            (example,),
            input_names=[input_name],
            output_names=[output_name],
            opset_version=OPSET,
            dynamo=True,
            dynamic_shapes=shapes,
            optimize=True,
            verbose=False,
        )
    assert program is not None
    model = program.model_proto
    model.producer_name, model.producer_version = "geoseg", __version__
    return model


def _set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    del model.metadata_props[:]
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def _check_target(path: str | Path, overwrite: bool) -> Path:
    """Fail before any work when the file cannot be written where asked."""
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise OutputError("the output is a folder", target, "name a file, e.g. model.onnx")
    if target.exists() and not overwrite:
        raise OutputError("the output file exists", target, "pass --overwrite to replace it")
    if not parent.is_dir():
        raise OutputError("the output folder does not exist", parent, "create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", parent, "choose another -o")
    return target


def _write(model: onnx.ModelProto, target: Path) -> Path:
    """Write atomically: a temporary file beside the target, then a rename (no half file)."""
    data = model.SerializeToString(deterministic=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write ({exc.strerror})", target.parent, "choose another -o"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write ({exc.strerror})", target, "check the disk") from exc
        raise
    return target
