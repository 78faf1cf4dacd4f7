"""ONNX export: the standalone analyst model agrees with geoseg on real crops, carries the metadata
QGIS Deepness reads, and the network-only graph matches the torch network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from rasterio.windows import Window

from geoseg import indices
from geoseg.engine.predict import Predictor
from geoseg.io.geotiff import QUANTIFICATION, open_scene
from geoseg.io.scene import MAX_REFLECTANCE
from geoseg.models import export
from geoseg.models.bundle import Bundle, load_bundle
from tests.conftest import DATA

ort = pytest.importorskip("onnxruntime")

# each test exports the network to ONNX (seconds): kept out of the quick local loop
pytestmark = pytest.mark.slow

VAL = DATA / "val"
#: a full tile of Hong Kong (city, sea, hills) and all of Norcia padded with no data (DN 0)
TILES = [("oscd_hongkong_20180323", Window(0, 0, 512, 512)), ("oscd_norcia_20171018", None)]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle()


@pytest.fixture(scope="module")
def standalone(bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export.export_onnx(bundle, tmp_path_factory.mktemp("onnx") / "model.onnx")


def _session(path: Path) -> Any:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _tile(bundle: Bundle, crop: str, window: Window | None) -> tuple[np.ndarray, np.ndarray]:
    """Reflectance as geoseg reads it, padded with no data to a full tile, and its validity."""
    scene = open_scene(VAL / crop)
    win = window or Window(0, 0, scene.grid.width, scene.grid.height)
    refl, valid = scene.read(win, bundle.read_bands)
    size = bundle.spec.tile_size
    out = np.zeros((len(bundle.read_bands), size, size), dtype=np.float32)
    mask = np.zeros((size, size), dtype=bool)
    out[:, : refl.shape[1], : refl.shape[2]] = refl
    mask[: valid.shape[0], : valid.shape[1]] = valid
    return out, mask


def test_dn_contract_matches_geoseg_scaling() -> None:
    """(DN + 0) / 10000 in float32 is bit for bit what geoseg.io makes of every uint16 DN."""
    dn = np.arange(1, 65536, dtype=np.uint16)
    geoseg = np.empty(dn.shape, dtype=np.float32)
    np.multiply(dn, 1.0 / QUANTIFICATION, out=geoseg, casting="unsafe")  # as Scene.read
    graph = torch.from_numpy(dn.astype(np.float32)) / export.QUANTIFICATION
    np.testing.assert_array_equal(graph.numpy(), geoseg)
    assert export.QUANTIFICATION == QUANTIFICATION and export.MAX_REFLECTANCE == MAX_REFLECTANCE


@pytest.mark.parametrize("name", sorted(indices.REGISTRY))
def test_in_graph_indices_match_numpy_bitwise(name: str) -> None:
    rng = np.random.default_rng(0)
    idx = indices.REGISTRY[name]
    shape = (64, 64)
    bands = {b: rng.uniform(-0.05, 0.6, shape).astype(np.float32) for b in idx.bands}
    first, second = idx.bands[:2]
    bands[first][:8] = 0.0  # zero denominators, ± equal values
    bands[second][:8] = 0.0
    bands[first][8:16] = -bands[second][8:16]
    valid = rng.random(shape) > 0.1
    expected = indices.compute([name], bands, valid)[0]
    named = {b: torch.from_numpy(v) for b, v in bands.items()}
    got = export.index_channels([name], named, torch.from_numpy(valid))[0].numpy()
    np.testing.assert_array_equal(got, expected)


def test_standalone_agrees_with_predictor_on_real_tiles(bundle: Bundle, standalone: Path) -> None:
    """Raw DN through the ONNX file vs geoseg's reflectance → features → Predictor, same tiles:
    the same class on ≥ 99.9 % of valid pixels (fp32), probabilities within 1e-3."""
    tiles = [_tile(bundle, crop, window) for crop, window in TILES]
    refl = np.stack([t[0] for t in tiles])
    valid = np.stack([t[1] for t in tiles])
    dn = np.rint(refl * QUANTIFICATION).astype(np.float32)  # the crops' L1C DN (no offset)
    assert np.array_equal(dn / np.float32(QUANTIFICATION), refl)
    assert not valid.all() and valid.sum() > 300_000  # Norcia is 348 x 299 px

    (got,) = _session(standalone).run(None, {"bands": dn})

    predictor = Predictor(bundle, device="cpu", precision="fp32")
    x = np.stack([predictor.features(r, v) for r, v in zip(refl, valid, strict=True)])
    with torch.inference_mode():
        expected = predictor._probabilities(torch.from_numpy(x)).numpy()

    agree = (got.argmax(1) == expected.argmax(1))[valid].mean()
    assert agree >= 0.999, agree
    assert np.abs(got - expected).max(axis=1)[valid].max() < 1e-3
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)


def test_standalone_metadata(bundle: Bundle, standalone: Path) -> None:
    model = onnx.load(str(standalone), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    n = len(bundle.read_bands)
    deepness = {k: json.loads(meta[k]) for k in export.deepness_metadata(bundle)}
    assert deepness == {
        "model_type": "Segmentor",
        "class_names": {str(c.id): c.name for c in bundle.classes},
        "resolution": 1000,
        "tile_size": 512,
        "tiles_size": 512,
        "tiles_overlap": 7,  # 32 of 512 px, rounded up
        "seg_thresh": 0.0,
        "seg_small_segment": 0,
        "standardization_mean": [0.0] * n,
        "standardization_std": [1 / 255] * n,
    }
    assert json.loads(meta["geoseg_classes"]) == [c.model_dump() for c in bundle.classes]
    assert json.loads(meta["geoseg_input"])["bands"] == bundle.read_bands
    assert json.loads(meta["geoseg_input"])["dn_offset"] == 0.0
    assert meta["geoseg_bundle"] == bundle.spec.name
    assert meta["geoseg_weights_sha256"] == bundle.sha256
    # what Deepness checks on load: one input (N?, C, S, S), one square 4-D output
    session = _session(standalone)
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.type, inp.shape[1:]) == ("bands", "tensor(float)", [n, 512, 512])
    assert isinstance(inp.shape[0], str)  # dynamic batch
    assert out.shape[1:] == [len(bundle.classes), 512, 512]
    assert session.get_modelmeta().custom_metadata_map["model_type"] == '"Segmentor"'


def test_deepness_scaling_reaches_the_graph_as_dn(bundle: Bundle, standalone: Path) -> None:
    """Deepness feeds float32(value / 255), then (x - mean) / std with the model's float32
    standardisation: that gives back the DN to within float rounding, hence the same classes."""
    refl, valid = _tile(bundle, *TILES[0])
    dn = np.rint(refl * QUANTIFICATION).astype(np.uint16)[None]
    meta = export.deepness_metadata(bundle)
    mean = np.array(json.loads(meta["standardization_mean"]), dtype=np.float32)
    std = np.array(json.loads(meta["standardization_std"]), dtype=np.float32)
    nhwc = dn.transpose(0, 2, 3, 1)
    x = (np.float32(nhwc * 1.0 / 255.0) - mean) / std  # deepness preprocessing_utils
    x = x.transpose(0, 3, 1, 2)
    assert x.dtype == np.float32 and np.abs(x - dn).max() < 0.01
    session = _session(standalone)
    (deepness,) = session.run(None, {"bands": x})
    (direct,) = session.run(None, {"bands": dn.astype(np.float32)})
    assert (deepness.argmax(1) == direct.argmax(1))[0][valid].mean() >= 0.9999


def test_offset_is_applied_in_the_graph(bundle: Bundle, tmp_path: Path) -> None:
    """A baseline ≥ 04.00 export reads DN + 1000 as the same reflectance."""
    path = export.export_onnx(bundle, tmp_path / "pb04.onnx", dn_offset=-1000)
    refl, valid = _tile(bundle, *TILES[1])
    dn = np.rint(refl * QUANTIFICATION).astype(np.float32)[None]
    shifted = np.where(dn > 0, dn + 1000, 0).astype(np.float32)
    (got,) = _session(path).run(None, {"bands": shifted})
    predictor = Predictor(bundle, device="cpu", precision="fp32")
    x = predictor.features(refl, valid)[None]
    with torch.inference_mode():
        expected = predictor._probabilities(torch.from_numpy(x)).numpy()
    assert (got.argmax(1) == expected.argmax(1))[0][valid].mean() >= 0.999
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["geoseg_input"])["dn_offset"] == -1000


def test_network_only_matches_torch_logits(bundle: Bundle, tmp_path: Path) -> None:
    """Dynamic batch, height and width; the logits of the unfused torch network."""
    path = export.export_network(bundle, tmp_path / "net.onnx")
    model = onnx.load(str(path))
    assert [n.op_type for n in model.graph.node].count("BatchNormalization") == 0
    assert "Softmax" not in {n.op_type for n in model.graph.node}
    refl, valid = _tile(bundle, *TILES[0])
    spec = bundle.spec
    x = Predictor(bundle, device="cpu", precision="fp32").features(refl, valid)
    batch = np.stack([x[:, :96, :160], x[:, 200:296, 300:460]])  # 2 x C x 96 x 160
    (got,) = _session(path).run(None, {"features": batch})
    with torch.inference_mode():
        expected = bundle.network(torch.from_numpy(batch)).numpy()
    assert got.shape == (2, len(spec.classes), 96, 160)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert model.graph.input[0].name == "features" and model.graph.output[0].name == "logits"


def test_export_is_deterministic_and_atomic(bundle: Bundle, tmp_path: Path) -> None:
    a = export.export_network(bundle, tmp_path / "a.onnx")
    b = export.export_network(bundle, tmp_path / "b.onnx")
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx"]  # no temp files
