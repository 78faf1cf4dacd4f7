"""Precisions: which one ``auto`` picks, and that bf16 and int8 keep the shipped model's map on
real crops (agreement with fp32; chunk invariance unchanged)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

import geoseg
from geoseg.engine import precision as prec
from geoseg.engine.predict import CPU_BATCH_SIZE, INT8_BATCH_SIZE, Predictor, int8_session
from geoseg.errors import BundleError, OptionError
from geoseg.models.bundle import DEFAULT_BUNDLE, INT8_FILE, Bundle, PrecisionCheck, load_bundle
from geoseg.run.options import ComputeOptions, Options
from tests.conftest import BEIRUT, NORCIA

GOOD = PrecisionCheck(
    agreement=0.999, oa_delta=0.1, max_iou_delta=0.2, scenes=["x"], cpu_flags=["avx512_bf16"]
)


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """This processor's flags, as the test sets them."""
    chosen: set[str] = set()
    monkeypatch.setattr(prec, "cpu_flags", lambda: frozenset(chosen))
    return chosen


def _with_checks(**checks: PrecisionCheck) -> Bundle:
    bundle = load_bundle(DEFAULT_BUNDLE)
    bundle.spec.precisions = dict(checks)
    return bundle


def test_auto_takes_a_checked_precision_only_where_the_processor_has_its_instructions(
    flags: set[str],
) -> None:
    bundle = _with_checks(bf16=GOOD)
    assert prec.resolve_precision("auto", "cpu", bundle) == "fp32"
    flags.add("avx512_bf16")
    assert prec.resolve_precision("auto", "cpu", bundle) == "bf16"
    failing = GOOD.model_copy(update={"max_iou_delta": 0.7})
    assert prec.resolve_precision("auto", "cpu", _with_checks(bf16=failing)) == "fp32"
    assert prec.resolve_precision("auto", "cpu", _with_checks()) == "fp32"
    assert prec.resolve_precision("int8", "cpu", bundle) == "int8"  # asked for: as asked
    assert prec.resolve_precision("auto", "cuda", bundle) == "amp"
    assert prec.resolve_precision("auto", "mps", bundle) == "fp32"


def test_auto_takes_int8_only_when_its_file_was_built_from_these_weights(
    flags: set[str],
) -> None:
    flags.update({"avx512_vnni", "avx512_bf16"})
    bundle = load_bundle(DEFAULT_BUNDLE)
    int8 = GOOD.model_copy(update={"agreement": 0.99, "cpu_flags": ["avx512_vnni"]})
    bundle.spec.precisions = {
        "bf16": GOOD,
        "int8": int8.model_copy(update={"built_from": bundle.sha256}),
    }
    assert prec.resolve_precision("auto", "cpu", bundle) == "int8"
    bundle.spec.precisions["int8"] = int8.model_copy(update={"built_from": "other weights"})
    assert prec.resolve_precision("auto", "cpu", bundle) == "bf16"


def test_auto_runs_the_shipped_int8_model_on_avx2_but_not_an_8_bit_one_checked_on_vnni(
    flags: set[str],
) -> None:
    """The shipped int8.onnx (7-bit weights) was checked on an AVX2-only CPU, where its integers
    are exact; a check made with VNNI alone does not vouch for AVX2, which saturates 8-bit ones."""
    bundle = load_bundle(DEFAULT_BUNDLE)
    flags.add("avx2")
    assert prec.resolve_precision("auto", "cpu", bundle) == "int8"
    flags.clear()  # no int8 instructions at all (e.g. an old x86 or a processor geoseg can't read)
    assert prec.resolve_precision("auto", "cpu", bundle) == "fp32"
    flags.add("avx2")
    vnni_only = bundle.spec.precisions["int8"].model_copy(update={"cpu_flags": ["avx512_vnni"]})
    bundle.spec.precisions = {**bundle.spec.precisions, "int8": vnni_only}
    assert prec.resolve_precision("auto", "cpu", bundle) == "fp32"


@pytest.mark.parametrize(
    ("kw", "flag"),
    [
        ({"precision": "int16"}, "--precision"),
        ({"precision": "int8", "device": "cuda"}, "--precision"),
    ],
)
def test_bad_precisions_are_refused_when_options_are_built(kw: dict[str, str], flag: str) -> None:
    with pytest.raises(OptionError, match=flag):
        ComputeOptions(**kw)
    with pytest.raises(OptionError):
        prec.resolve_precision("int8", "cuda", load_bundle(DEFAULT_BUNDLE))


def test_a_missing_or_altered_int8_model_is_refused_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, copy)
    (copy / INT8_FILE).write_bytes(b"not the model")
    with pytest.raises(BundleError, match="does not match"):
        Predictor(load_bundle(copy), "cpu", precision="int8")
    (copy / INT8_FILE).unlink()
    with pytest.raises(BundleError, match="geoseg quantize"):
        Predictor(load_bundle(copy), "cpu", precision="int8")


def test_int8_runs_small_batches_without_spinning_or_a_memory_pattern() -> None:
    """What keeps int8's peak RSS and CPU seconds down (bench/RESULTS.md, 2026-11-30)."""
    predictor = Predictor(load_bundle(DEFAULT_BUNDLE), "cpu", precision="int8")
    assert predictor.batch_size == INT8_BATCH_SIZE < CPU_BATCH_SIZE
    options = int8_session(load_bundle(DEFAULT_BUNDLE).int8_model).get_session_options()
    assert not options.enable_mem_pattern
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def _classes(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


@pytest.fixture(scope="module")
def beirut_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """A real 1013 × 1319 crop through the shipped model in each precision."""
    out = tmp_path_factory.mktemp("precisions")
    runs = {}
    for p in ("fp32", "bf16", "int8"):
        opts = Options(precision=p, device="cpu", vectorize=False, confidence=False)
        runs[p] = _classes(geoseg.classify(BEIRUT, out / p, options=opts).classes)
    return runs


@pytest.mark.slow
@pytest.mark.parametrize(("precision", "floor"), [("bf16", 0.995), ("int8", 0.985)])
def test_reduced_precisions_keep_the_fp32_map_on_a_real_crop(
    beirut_runs: dict[str, np.ndarray], precision: str, floor: float
) -> None:
    fp32, other = beirut_runs["fp32"], beirut_runs[precision]
    valid = fp32 != 255
    assert (other[valid] == fp32[valid]).mean() >= floor


@pytest.mark.slow
def test_int8_keeps_chunk_invariance(beirut_runs: dict[str, np.ndarray], tmp_path: Path) -> None:
    """The int8 map whatever the chunk size: ≤ 1 pixel in 100,000 differs, as in fp32."""
    opts = Options(precision="int8", chunk_size=256, vectorize=False, confidence=False)
    small = _classes(geoseg.classify(BEIRUT, tmp_path, options=opts).classes)
    assert (small != beirut_runs["int8"]).mean() <= 1e-5


@pytest.mark.slow
def test_the_precision_used_is_part_of_the_run_identity(tmp_path: Path) -> None:
    import json

    opts = Options(precision="bf16", vectorize=False, confidence=False)
    res = geoseg.classify(NORCIA, tmp_path / "bf16", options=opts)
    assert json.loads(res.stats_json.read_text())["options"]["precision"] == "bf16"
    res = geoseg.classify(NORCIA, tmp_path / "fp32", options=Options(precision="fp32"))
    assert "precision" not in json.loads(res.stats_json.read_text())["options"]
