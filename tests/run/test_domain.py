"""What the model may not know about an input: impossible reflectance stops the run, an unknown
processing level or unusual reflectance is a warning in the result and the stats JSON."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

import geoseg
from geoseg.errors import InputError
from geoseg.io.reader import open_scene
from geoseg.models.bundle import load_bundle
from geoseg.run.domain import assess, processing_level
from tests.conftest import NORCIA, SHARED


@pytest.fixture(scope="module")
def l2a_patch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real BigEarthNet Level-2A patch (one GeoTIFF per band)."""
    archive = SHARED / "l2a-samples" / "bigearthnet" / "BigEarthNet-S2-Example.tar.bz2"
    root = tmp_path_factory.mktemp("bigearthnet")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return next((root / "BigEarthNet-S2-Example").iterdir())


def test_impossible_reflectance_stops_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"reflectance is implausible.*check --scale and --offset"):
        geoseg.classify(NORCIA, tmp_path / "out", offset=100_000)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("read", "expected"),
    [({}, None), ({"scale": 3e-4}, "unlike the training data"), ({"offset": -1000}, "B02")],
)
def test_reflectance_unlike_the_training_data_is_a_warning(read: dict, expected: str) -> None:
    warnings = assess(open_scene(NORCIA, **read), load_bundle())
    assert (warnings == []) if expected is None else any(expected in w for w in warnings)


def test_the_processing_level_comes_from_the_product(l2a_patch: Path) -> None:
    assert processing_level(open_scene(l2a_patch)) == "L2A"
    assert processing_level(open_scene(NORCIA)) is None  # a bare GeoTIFF does not say


def test_a_level_the_model_does_not_know_is_said_in_the_result_and_stats(
    l2a_patch: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    assert load_bundle(bundle_dir).spec.processing_levels == ["L1C"]
    opts = geoseg.Options(vectorize=False, stac=False)
    result = geoseg.classify(l2a_patch, tmp_path, model=bundle_dir, options=opts)
    assert any(w.startswith("L2A input, but the model knows L1C") for w in result.warnings)
    assert json.loads(result.stats_json.read_text())["warnings"] == result.warnings


def test_a_run_samples_the_scene_for_its_domain_check_once(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked before the run, reported after it: one sample (each window decodes a block)."""
    from geoseg.run import domain

    calls = []
    sample = domain._band_medians
    monkeypatch.setattr(domain, "_band_medians", lambda *a: calls.append(1) or sample(*a))
    opts = geoseg.Options(vectorize=False, stac=False, confidence=False)
    geoseg.classify(open_scene(NORCIA), tmp_path, model=bundle_dir, options=opts)
    assert len(calls) == 1
