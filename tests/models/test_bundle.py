import json
from pathlib import Path

import pytest
import torch

from geoseg.errors import BundleError
from geoseg.models.bundle import SPEC_FILE, WEIGHTS_FILE, load_bundle
from tests.conftest import make_bundle


def test_roundtrip_gives_the_same_network(tmp_path: Path) -> None:
    saved = make_bundle(tmp_path / "b", seed=3)
    loaded = load_bundle(tmp_path / "b")
    x = torch.randn(2, 12, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(saved.network(x), loaded.network(x), rtol=0, atol=0)
    assert loaded.sha256 == saved.sha256 and len(loaded.sha256) == 64
    assert loaded.spec.channels[-2:] == ["NDVI", "NDWI"]
    assert loaded.read_bands == loaded.spec.bands  # NDVI/NDWI need no extra bands


def test_weights_are_plain_safetensors(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b")
    head = (tmp_path / "b" / WEIGHTS_FILE).read_bytes()[:8]
    header_len = int.from_bytes(head, "little")
    header = json.loads((tmp_path / "b" / WEIGHTS_FILE).read_bytes()[8 : 8 + header_len])
    assert header["__metadata__"]["format"] == "pt"


def test_missing_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)


def test_corrupt_weights_fail_the_hash_check(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b")
    weights = tmp_path / "b" / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="does not match the hash"):
        load_bundle(tmp_path / "b")


def test_truncated_weights_without_recorded_hash(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b")
    spec = json.loads((tmp_path / "b" / SPEC_FILE).read_text())
    spec["weights_sha256"] = ""
    (tmp_path / "b" / SPEC_FILE).write_text(json.dumps(spec))
    weights = tmp_path / "b" / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(BundleError, match="not a readable safetensors"):
        load_bundle(tmp_path / "b")


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path / "a")
    make_bundle(tmp_path / "b", encoder="resnet34")
    (tmp_path / "a" / WEIGHTS_FILE).write_bytes((tmp_path / "b" / WEIGHTS_FILE).read_bytes())
    spec = json.loads((tmp_path / "a" / SPEC_FILE).read_text())
    spec["weights_sha256"] = ""
    (tmp_path / "a" / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(BundleError, match="do not fit the architecture"):
        load_bundle(tmp_path / "a")


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.update(bands=["B02", "B99"]),
        lambda s: s.update(indices=["FOO"]),
        lambda s: s["normalization"].update(mean=[0.0]),
        lambda s: s.update(classes=[{"id": 1, "name": "x", "color": "#000000"}]),
        lambda s: s.update(format_version=9),
    ],
)
def test_inconsistent_spec_is_refused(tmp_path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    make_bundle(tmp_path / "b")
    spec = json.loads((tmp_path / "b" / SPEC_FILE).read_text())
    edit(spec)
    (tmp_path / "b" / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(BundleError, match=r"invalid bundle\.json"):
        load_bundle(tmp_path / "b")


def test_garbage_json(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b")
    (tmp_path / "b" / SPEC_FILE).write_text("{not json")
    with pytest.raises(BundleError, match=r"invalid bundle\.json"):
        load_bundle(tmp_path / "b")


def test_repr_is_one_short_line(tmp_path: Path) -> None:
    """``print(geoseg.load_bundle())`` in a notebook: what the model is, not its weights."""
    bundle = load_bundle(make_bundle(tmp_path / "b").path)
    text = repr(bundle)
    assert len(text) < 300 and "\n" not in text and str(bundle) == text
    assert text.startswith("Bundle('random-test': unet_aspp/resnet18, 10 bands, NDVI, NDWI, ")
    assert "9 classes (water, trees, grass, flooded_vegetation, …), tile 256/32" in text
    assert bundle.model_hash in text and "tensor" not in text
