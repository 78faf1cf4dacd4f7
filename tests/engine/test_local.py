"""Reading chunks for the model: what a scene's edge looks like to the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.models.bundle import load_bundle
from tests.conftest import BEIRUT, classify_array


def _subcrop(src: Path, dst: Path, win: Window) -> Path:
    """The same place cut smaller: 10 m and 20 m band files over ``win`` (even offsets)."""
    dst.mkdir()
    for name, factor in (("B10m.tif", 1), ("B20m.tif", 2)):
        with rasterio.open(src / name) as ds:
            w = Window(
                *(int(v) // factor for v in (win.col_off, win.row_off, win.width, win.height))
            )
            profile = ds.profile | {
                "width": int(w.width),
                "height": int(w.height),
                "transform": ds.window_transform(w),
                "tiled": False,
            }
            for key in ("blockxsize", "blockysize"):
                profile.pop(key, None)
            with rasterio.open(dst / name, "w", **profile) as out:
                out.write(ds.read(window=w))
                out.descriptions = ds.descriptions
    return dst


@pytest.mark.slow
def test_scene_edges_are_classified_like_the_same_pixels_inside_a_larger_scene(
    tmp_path: Path,
) -> None:
    """Tiles reaching past a scene see it mirrored (not blank), the grid starts outside the
    scene and is anchored to the CRS: a sub-crop agrees with the whole crop's run on ≥ 99 % of
    the pixels farther than 64 px from the cut (98.2 % with corner-anchored tiles), and its
    outer 4 rows and columns with the same pixels of the whole crop's run on ≥ 92 % of pixels
    on every side (blank-filled tiles gave 89 % at the bottom), and on
    its outer 2 no class's share moves by more than 3 points (``bench/edge_check.py``)."""
    bundle = load_bundle()
    tile, overlap = bundle.spec.tile_size, bundle.spec.overlap
    full = classify_array(BEIRUT, bundle, tile, overlap, chunk_tiles=2)
    h, w = full.shape
    win = Window(w // 8 * 2, h // 8 * 2, w // 4 * 2, h // 4 * 2)
    sub = classify_array(_subcrop(BEIRUT, tmp_path / "sub", win), bundle, tile, overlap, 2)
    ref = full[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width]
    ok = (sub != NODATA) & (ref != NODATA)
    inside = np.s_[64:-64, 64:-64]  # tiles anchored to the CRS: the full run's tiles in place
    assert (sub == ref)[inside][ok[inside]].mean() >= 0.99
    sides = {"top": np.s_[:4], "bottom": np.s_[-4:], "left": np.s_[:, :4], "right": np.s_[:, -4:]}
    for side, ring in sides.items():
        agree = (sub[ring] == ref[ring])[ok[ring]].mean()
        assert agree >= 0.92, f"{side}: {agree:.3f}"
    outer = {"top": np.s_[:2], "bottom": np.s_[-2:], "left": np.s_[:, :2], "right": np.s_[:, -2:]}
    for side, edge in outer.items():  # no class gains or loses more than 3 points at the edge
        valid = ok[edge]
        shift = [
            abs((sub[edge][valid] == k).mean() - (ref[edge][valid] == k).mean()) for k in range(9)
        ]
        assert max(shift) <= 0.03, f"{side}: class {int(np.argmax(shift))} {max(shift):.3f}"


@pytest.mark.slow  # several whole runs (seconds)
def test_chunks_outside_an_area_of_interest_are_not_run_and_change_nothing(
    bundle_dir: Path,
) -> None:
    """An --aoi in one corner: chunks whose tiles cannot reach it are settled empty without
    reading or running them, and the class raster is the one of running every chunk."""
    from dataclasses import replace

    from shapely.geometry import box

    from geoseg.engine.local import InProcessEngine, Job, collect, run_chunks
    from geoseg.engine.predict import Predictor
    from geoseg.io.reader import open_scene
    from geoseg.tiling import TileGrid, edge_margin

    plain = open_scene(BEIRUT)
    left, top = plain.grid.transform * (0, 0)
    area = box(left + 1000, top - 1500, left + 3000, top - 800)  # ~200 x 70 px near the top left
    scene = open_scene(BEIRUT, bbox=area.bounds, bbox_crs=plain.grid.crs)
    grid = TileGrid(*scene.shape, 128, 16, 1, edge_margin(128, 16))
    bundle = load_bundle(bundle_dir)
    ran: list[tuple[int, int]] = []

    class Counting(InProcessEngine):
        def outputs(self, job: Job, todo: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
            ran.extend(todo)
            return super().outputs(job, todo)

    engine = Counting(Predictor(bundle, "cpu", precision="fp32"))
    job = Job(scene, grid, n_classes=len(bundle.classes))
    skipped = collect(run_chunks(job, engine), grid)
    n_ran, ran[:] = len(ran), []
    everything = collect(run_chunks(replace(job, n_classes=0), engine), grid)
    assert n_ran < len(ran) // 4  # most chunks were never run
    np.testing.assert_array_equal(skipped, everything)
    assert (skipped != NODATA).sum() > 0.9 * 200 * 70


def test_prepare_reads_into_the_model_input_what_features_computes(tmp_path: Path) -> None:
    """The reader fills the model input in place (no second copy of a chunk); it must hold what
    features() computes from a plain mirrored read, at the scene's edges and inside, also when
    an index needs a band the model does not take and extra index channels are asked for."""
    from geoseg import indices
    from geoseg.engine.local import prepare
    from geoseg.engine.predict import Predictor
    from geoseg.io.geotiff import open_scene
    from geoseg.models.bundle import Normalization, _build, save_bundle
    from geoseg.tiling import TileGrid, edge_margin
    from tests.conftest import NORCIA, make_spec

    spec = make_spec()
    bands = [b for b in spec.bands if b != "B11"]  # MNDWI reads B11 beside the model's bands
    norm = Normalization(
        mean=[0.1 + 0.01 * i for i in range(len(bands) + 2)], std=[0.2] * (len(bands) + 2)
    )
    spec = spec.model_copy(
        update={"bands": bands, "indices": ["NDVI", "MNDWI"], "normalization": norm}
    )
    predictor = Predictor(save_bundle(tmp_path / "b", _build(spec), spec), "cpu")
    scene = open_scene(NORCIA)
    grid = TileGrid(*scene.shape, 128, 32, 2, edge_margin(128, 32))
    extra = ["NDBI", "EVI"]
    assert predictor.bundle.read_bands == [*bands, "B11"]  # a band only an index reads
    for key in [(0, 0), (1, 1), (grid.n_chunk_rows - 1, grid.n_chunk_cols - 1)]:
        chunk = grid.chunk(*key)
        got = prepare(scene, predictor, chunk, extra)
        refl, seen, inside = scene.read_mirrored(chunk.extent, predictor.bundle.read_bands)
        np.testing.assert_array_equal(got.x, predictor.features(refl, seen))
        h, w = int(chunk.core.height), int(chunk.core.width)
        core = {n: b[:h, :w] for n, b in zip(predictor.bundle.read_bands, refl, strict=True)}
        want = indices.compute(extra, core, got.valid[:h, :w])
        want[:, ~got.valid[:h, :w]] = np.nan
        np.testing.assert_array_equal(got.extra, want)
        rh, rw = got.valid.shape
        np.testing.assert_array_equal(got.valid, (seen & inside)[:rh, :rw])
