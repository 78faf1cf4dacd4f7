"""Property: ``classify`` on any small raster either writes a class raster on exactly the input's
grid (with its stats JSON), or raises a GeosegError and leaves the output folder empty: never
another exception, never half the outputs. Scenes come from the reader property's generator."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import geoseg
from geoseg.bands import canonical
from geoseg.classes import NODATA
from geoseg.errors import GeosegError
from geoseg.models.bundle import load_bundle
from tests.io.test_properties import GRIDS, NEEDED, PROPERTY, RasterCase, raster_cases

#: a scene smaller than the minimum mapping unit (0.05 ha: 5 px of 10 m)
ONE_PIXEL = RasterCase(
    dtype="uint16", nodata=None, width=1, height=1, crs="EPSG:32633", bands=tuple(NEEDED),
    described=True, constant=(False,) * len(NEEDED), holes=0.0, specials=0.0, dn_floats=False,
    seed=0,
)  # fmt: skip


@pytest.mark.slow
def test_classify_writes_the_inputs_grid_or_refuses_with_a_geoseg_error_leaving_nothing(
    bundle_dir: Path,
) -> None:
    bundle = load_bundle(bundle_dir)  # loaded once: the property is about scenes, not bundles
    assert bundle.read_bands == NEEDED
    class_ids = {c.id for c in bundle.classes}
    outcomes: Counter[str] = Counter()

    # tile 64 (the smallest the bundle's 32 px overlap allows): several tiles on a 40 px scene;
    # a chunk of one 32 px stride also puts several chunks on it
    @settings(PROPERTY, max_examples=60)
    @given(
        case=raster_cases(described=True),
        vectorize=st.booleans(),
        chunk_size=st.sampled_from([32, 2048]),
    )
    @example(case=ONE_PIXEL, vectorize=True, chunk_size=2048)  # was a ValueError from the sieve
    def check(case: RasterCase, vectorize: bool, chunk_size: int) -> None:
        # random reflectance is no land: the cloud detector may call some of it cloud, which
        # would be masked (tests/io/test_clouds.py); here every valid pixel must get a class
        opts = geoseg.Options(
            vectorize=vectorize,
            tile_size=64,
            chunk_size=chunk_size,
            resume=False,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path, out = Path(tmp) / "scene.tif", Path(tmp) / "out"
            data = case.write(path)
            try:
                geoseg.open_scene(path)
                result = geoseg.classify(path, out, model=bundle, options=opts, cloud_mask="none")
            except GeosegError as exc:
                outcomes["refused"] += 1
                event(f"refused: {type(exc).__name__}")
                left = sorted(p.name for p in out.iterdir()) if out.exists() else []
                assert left == [], f"{exc} but left {left}"
                return
            outcomes["classified"] += 1
            event("classified")
            with rasterio.open(result.classes) as ds:
                assert (ds.width, ds.height) == (case.width, case.height)
                assert ds.transform == GRIDS[case.crs]
                assert ds.crs == rasterio.crs.CRS.from_string(case.crs)
                classes = ds.read(1)
            assert set(np.unique(classes).tolist()) <= class_ids | {NODATA}
            by_name = {canonical(n): i for i, n in enumerate(case.bands, start=1) if n}
            valid = case.valid(data, [by_name[n] for n in NEEDED])
            assert np.array_equal(classes != NODATA, valid)
            assert result.valid_pixels == int(valid.sum())
            assert result.stats_json.is_file()
            assert (result.polygons is not None) == vectorize
            assert not list(out.glob(".geoseg-*")), "a staging folder was left"

    check()
    assert outcomes["classified"] and outcomes["refused"], outcomes
