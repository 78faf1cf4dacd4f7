"""``classify`` and its stages as the API runs them: inputs checked first, all or nothing."""

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

import geoseg
from geoseg.dates import raster_date
from geoseg.errors import OptionError, OutputError
from geoseg.io.read_options import ReadOptions
from geoseg.run import classify as run
from geoseg.run.options import Options
from tests.conftest import NORCIA, write_stack


def test_options_are_checked_against_the_bundle_before_anything_is_read(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # the test bundle overlaps 32 px: a 32 px tile cannot keep that
    with pytest.raises(OptionError, match="--overlap 32"):
        run.check_inputs(tmp_path / "no-such-scene", bundle_dir, Options(tile_size=32))
    with pytest.raises(OptionError, match="--scale"):
        geoseg.classify(NORCIA, tmp_path / "out", model=bundle_dir, scale=-1)
    assert not (tmp_path / "out").exists()


def test_check_inputs_takes_flat_options_and_read_options(bundle_dir: Path) -> None:
    scene, bundle, opts = run.check_inputs(
        NORCIA, bundle_dir, {"min_area_ha": 1}, {"cloud_mask": False}
    )
    assert opts == Options(min_area_ha=1) and bundle.spec.tile_size == 256
    same, _, _ = run.check_inputs(NORCIA, bundle, None, ReadOptions.build(cloud_mask=False))
    assert scene.grid == same.grid


@pytest.mark.slow
def test_a_failed_run_leaves_nothing_behind(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geoseg.run import polygons

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(polygons.gpkg, "append_polygons", boom)  # in the polygon thread
    with pytest.raises(RuntimeError):
        geoseg.classify(NORCIA, tmp_path, model=bundle_dir)
    left = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".geoseg-chunks-") for name in left)  # only the resume store
    with pytest.raises(RuntimeError):
        geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(resume=False))
    assert [p.name for p in tmp_path.iterdir()] == left


@pytest.mark.slow
def test_rerun_replaces_outputs(bundle_dir: Path, tmp_path: Path) -> None:
    first = geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(min_area_ha=0))
    second = geoseg.classify(NORCIA, tmp_path, model=bundle_dir, options=Options(min_area_ha=1))
    assert first.polygons == second.polygons
    polys = pyogrio.read_dataframe(second.polygons, layer="landcover")
    assert polys.pixels.min() >= 100
    expected = [p.name for p in second.outputs] + [second.classes.name + ".aux.xml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)


@pytest.mark.slow
def test_stages_write_what_classify_writes(
    norcia_run: geoseg.ClassifyResult, bundle_dir: Path, tmp_path: Path
) -> None:
    """segment → vectorize → summarize (as the Prefect flow runs them) equals one classify."""
    opts = Options(indices=("NDVI",))
    seg = run.segment(NORCIA, tmp_path, model=bundle_dir, options=opts)
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {p.name for p in seg.outputs} | {seg.classes.name + ".aux.xml"}
    vectors = run.vectorize(seg, opts)
    result = run.summarize(seg, vectors)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in norcia_run.out_dir.iterdir() if not p.name.startswith(".")
    )
    with rasterio.open(result.classes) as a, rasterio.open(norcia_run.classes) as b:
        assert (a.read(1) == b.read(1)).all()
    assert result.stats_csv.read_text() == norcia_run.stats_csv.read_text()
    assert sum(vectors.polygons_per_class) == len(
        pyogrio.read_dataframe(result.polygons, layer="landcover")
    )
    mine, theirs = (
        json.loads(result.stats_json.read_text()),
        json.loads(norcia_run.stats_json.read_text()),
    )
    assert mine == theirs and mine["options"]["indices"] == ["NDVI"]


@pytest.mark.slow
def test_test_time_augmentation_is_recorded_and_changes_the_confidence(
    bundle_dir: Path, tmp_path: Path
) -> None:
    opts = {"vectorize": False, "stac": False}
    plain = geoseg.classify(NORCIA, tmp_path / "plain", model=bundle_dir, options=Options(**opts))
    tta = geoseg.classify(
        NORCIA, tmp_path / "tta", model=bundle_dir, options=Options(tta=True, **opts)
    )
    summary = json.loads(tta.stats_json.read_text())
    assert summary["options"]["tta"] is True
    assert json.loads(plain.stats_json.read_text())["options"]["tta"] is False
    assert tta.confidence is not None and plain.confidence is not None
    with rasterio.open(plain.confidence) as a, rasterio.open(tta.confidence) as b:
        assert (a.read(1) != b.read(1)).any()


def _outputs(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir()}


@pytest.mark.slow
def test_outputs_of_another_scene_of_the_same_name_are_refused_unless_overwrite(
    bundle_dir: Path, tmp_path: Path
) -> None:
    out, fast = tmp_path / "out", {"vectorize": False, "stac": False}
    geoseg.classify(NORCIA, out, model=bundle_dir, options=Options(**fast))
    copy = tmp_path / "elsewhere" / NORCIA.name  # the same name, other files
    shutil.copytree(NORCIA, copy)
    before = _outputs(out)
    for stage in (geoseg.classify, run.segment):
        with pytest.raises(OutputError, match=rf"outputs named {NORCIA.name}\* .* another scene"):
            stage(copy, out, model=bundle_dir, options=Options(**fast))
    assert _outputs(out) == before  # refused before anything was written
    # the same scene again, with other options and a mask: replaces its own outputs as before
    with rasterio.open(NORCIA / "B10m.tif") as ds:
        profile = {**ds.profile, "count": 1, "dtype": "uint8", "nodata": None}
    with rasterio.open(tmp_path / "mask.tif", "w", **profile) as dst:
        dst.write(np.ones((1, profile["height"], profile["width"]), np.uint8))
    again = Options(min_area_ha=1, **fast)
    geoseg.classify(NORCIA, out, model=bundle_dir, options=again, keep=tmp_path / "mask.tif")
    replaced = geoseg.classify(copy, out, model=bundle_dir, options=Options(overwrite=True, **fast))
    assert json.loads(replaced.stats_json.read_text())["source"] == str(copy.resolve())


@pytest.mark.slow
def test_img_data_scenes_are_named_and_dated_from_their_granule_and_band_files(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """Two scenes given as IMG_DATA folders (and a GeoTIFF dated by a tag) into one folder: each
    keeps its own outputs, and its acquisition date in the STAC item and the GEOSEG_DATE tag."""
    from tests.io.products import make_safe

    img_data = next((make_safe(tmp_path / "p", "L1C", "02.06") / "GRANULE").iterdir()) / "IMG_DATA"
    other = tmp_path / "download" / "IMG_DATA"
    other.mkdir(parents=True)
    for band in img_data.glob("*.jp2"):
        (other / band.name.replace("T33TUH_20171018", "T32TQM_20171028")).symlink_to(band)
    tagged = write_stack(NORCIA, tmp_path / "scene.tif")
    with rasterio.open(tagged, "r+") as ds:
        ds.update_tags(DATE_ACQUIRED="2017-10-19")
    out = tmp_path / "out"
    expected = {
        img_data: ("L1C_T33TUH_A003456_20171018T101021", date(2017, 10, 18)),
        other: ("T32TQM_20171028T101021", date(2017, 10, 28)),
        tagged: ("scene", date(2017, 10, 19)),
    }
    for scene, (stem, day) in expected.items():
        result = geoseg.classify(scene, out, model=bundle_dir, options=Options(vectorize=False))
        assert result.classes.name == f"{stem}_classes.tif"
        assert result.stac_item is not None
        props = json.loads(result.stac_item.read_text())["properties"]
        assert props["datetime"].startswith(day.isoformat())
        assert "geoseg:datetime_is_processing_time" not in props
        with rasterio.open(result.classes) as ds:
            assert ds.tags()["GEOSEG_DATE"] == day.isoformat()
        assert raster_date(result.classes) == day  # what geoseg zonal reads
    assert len(list(out.glob("*_stats.json"))) == 3


def test_classify_takes_a_dataarray_read_with_rioxarray(bundle_dir: Path, tmp_path: Path) -> None:
    """``geoseg.classify(rioxarray.open_rasterio(...))`` reads the file behind the array (lazy,
    with its CRS, transform and the array's band names); anything else is one clear error."""
    import rioxarray

    from geoseg.errors import InputError
    from tests.conftest import BANDS

    bare = write_stack(NORCIA, tmp_path / "bare.tif", descriptions=False)
    da = rioxarray.open_rasterio(bare).assign_coords(band=BANDS)
    scene, _, _ = run.check_inputs(da, bundle_dir, None, {"cloud_mask": False})
    assert Path(scene.source) == bare and scene.band_names[:3] == ["B02", "B03", "B04"]
    with rasterio.open(bare) as ds:
        assert (scene.grid.transform, scene.grid.crs) == (ds.transform, ds.crs)
    with pytest.raises(InputError, match=r"cannot classify a int \(scene\): pass a path"):
        run.check_inputs(42, bundle_dir)  # type: ignore[arg-type]
