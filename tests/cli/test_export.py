"""``geoseg export``: writes a loadable ONNX file, and every bad input is one line, exit 2 and no
file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnx
import pytest

from tests.cli.conftest import assert_clean_failure, invoke

ort = pytest.importorskip("onnxruntime")

# each test exports the network to ONNX (seconds): kept out of the quick local loop
pytestmark = pytest.mark.slow


def test_export_onnx(bundle_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    res = invoke("export", str(bundle_dir), "--format", "onnx", "-o", str(target))
    assert res.exit_code == 0, res.output
    assert "L1C DN of B02" in res.stdout and "Deepness" in res.stdout
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "bands" and inp.shape[1:] == [10, 256, 256]
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["model_type"]) == "Segmentor"
    assert json.loads(meta["geoseg_input"])["dn_offset"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_export_network_only_and_overwrite(bundle_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "net.onnx"
    target.write_text("old")
    args = ("export", str(bundle_dir), "-o", str(target), "--network-only")
    assert_clean_failure(invoke(*args), r"output file exists .*--overwrite")
    assert target.read_text() == "old"
    res = invoke(*args, "--overwrite")
    assert res.exit_code == 0, res.output
    model = onnx.load(str(target))
    assert [i.name for i in model.graph.input] == ["features"]
    assert [o.name for o in model.graph.output] == ["logits"]


def test_offset_is_recorded(bundle_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "pb04.onnx"
    res = invoke("export", str(bundle_dir), "-o", str(target), "--offset", "-1000")
    assert res.exit_code == 0, res.output
    meta = {p.key: p.value for p in onnx.load(str(target)).metadata_props}
    assert json.loads(meta["geoseg_input"])["dn_offset"] == -1000


def test_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    res = invoke("export", str(tmp_path / "empty"), "-o", str(out / "m.onnx"))
    assert_clean_failure(res, "not a model bundle", out)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--format", "tflite"), r"unknown format 'tflite'.*use onnx"),
        (("--offset", "-20000"), r"--offset .* out of range"),
        (("--offset", "-1000", "--network-only"), r"--offset applies to the standalone model"),
    ],
)
def test_bad_options(
    bundle_dir: Path, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    res = invoke("export", str(bundle_dir), "-o", str(out / "m.onnx"), *extra)
    assert_clean_failure(res, message, out)


def test_output_folder_missing(bundle_dir: Path, tmp_path: Path) -> None:
    res = invoke("export", str(bundle_dir), "-o", str(tmp_path / "nowhere" / "m.onnx"))
    assert_clean_failure(res, "output folder does not exist", tmp_path / "nowhere")


def test_output_is_a_folder(bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert_clean_failure(invoke("export", str(bundle_dir), "-o", str(out)), "is a folder", out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_output_folder_not_writable(bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        res = invoke("export", str(bundle_dir), "-o", str(out / "m.onnx"))
        assert_clean_failure(res, "not writable", out)
    finally:
        out.chmod(0o755)
