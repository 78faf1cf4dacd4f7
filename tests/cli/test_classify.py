"""``geoseg classify``: summary on success; one line, exit 2 and no outputs for every bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geoseg.models.bundle import SPEC_FILE, WEIGHTS_FILE
from tests.cli.conftest import assert_clean_failure, invoke
from tests.conftest import NORCIA, make_bundle, write_stack


@pytest.mark.slow
def test_classify_prints_outputs_and_the_area_table(bundle_dir: Path, tmp_path: Path) -> None:
    res = invoke(
        "classify", str(NORCIA), "-o", str(tmp_path), "--model", str(bundle_dir),
        "--min-area", "0.1",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Class areas" in res.stdout and "flooded_vegetation" in res.stdout
    assert str(tmp_path / f"{NORCIA.name}_classes.tif") in res.stdout
    assert res.stderr == ""  # no terminal, no progress bar


@pytest.mark.slow
def test_a_resumed_run_says_how_many_chunks_it_reused(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the summary line and in the stats JSON (``chunks``, ``reused_chunks``)."""
    from geoseg.engine.chunkstore import ChunkStore

    args = ["classify", str(NORCIA), "-o", str(tmp_path), "--model", str(bundle_dir),
            "--tile-size", "128", "--overlap", "32", "--chunk-size", "128", "--no-vectorize",
            "--no-cloud-mask"]  # fmt: skip
    with monkeypatch.context() as m:  # as if interrupted after its last chunk: the store stays
        m.setattr(ChunkStore, "remove", lambda self: None)
        first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "reusing" not in first.stdout
    stats = tmp_path / f"{NORCIA.name}_stats.json"
    assert json.loads(stats.read_text())["reused_chunks"] == 0
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    doc = json.loads(stats.read_text())
    n = doc["chunks"]
    assert n > 1 and doc["reused_chunks"] == n
    assert f"s, reusing {n} of {n} chunks an interrupted run finished." in again.stdout


def test_help_shows_examples() -> None:
    res = invoke("classify", "--help")
    assert res.exit_code == 0 and "Examples" in res.stdout and "--min-area" in res.stdout


# --- bad option values: caught where the options are built, before anything is read ------------

BAD_OPTIONS = {
    "tile size": (("--tile-size", "100"), "--tile-size 100 is out of range"),
    "overlap": (("--overlap", "-1"), "--overlap -1 is out of range"),
    "chunk size": (("--chunk-size", "0"), "--chunk-size 0 is out of range"),
    "batch size": (("--batch-size", "0"), "--batch-size 0 is out of range"),
    "device": (("--device", "tpu9"), "--device 'tpu9' is out of range"),
    "workers": (("--workers", "0"), "--workers 0 is out of range"),
    "engine": (("--engine", "spark"), "unknown engine 'spark'"),
    "dask without address": (("--engine", "dask"), "needs a scheduler address"),
    "min area": (("--min-area", "-1"), "--min-area -1.0 is out of range"),
    "simplify": (("--simplify", "nan"), "--simplify nan is out of range"),
    "index": (("--indices", "FOO"), "unknown spectral index"),
    "scale": (("--scale", "0"), r"--scale 0(\.0)? is not valid"),
    "nodata": (("--nodata", "nan"), "--nodata nan is not valid"),
    "scl classes": (("--scl-classes", "3,12"), "not an SCL class: '12'"),
    "bbox count": (("--bbox", "1,2,3"), "--bbox '1,2,3' is not valid .*four numbers"),
    "bbox order": (("--bbox", "3,2,1,4"), "--bbox '3,2,1,4' is not valid .*minx must be < maxx"),
    "bbox text": (("--bbox", "a,b,c,d"), "--bbox 'a,b,c,d' is not valid"),
    "bbox crs": (("--bbox", "1,2,3,4", "--bbox-crs", "EPSG:99999"), "--bbox-crs .* is not valid"),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option_value(case: str, tmp_path: Path) -> None:
    """The scene does not exist: the option's error coming first shows nothing was read."""
    args, message = BAD_OPTIONS[case]
    out = tmp_path / "out"
    out.mkdir()
    res = invoke("classify", str(tmp_path / "missing.tif"), "-o", str(out), *args)
    assert_clean_failure(res, message, out)


# --- bad scenes, bundles and output folders ------------------------------------------------------


def _corrupt_bundle(tmp: Path) -> Path:
    path = tmp / "corrupt"
    make_bundle(path)
    weights = path / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-100])
    return path


def _mismatched_bundle(tmp: Path) -> Path:
    path = tmp / "mismatch"
    make_bundle(path)
    make_bundle(tmp / "other", encoder="resnet34")
    (path / WEIGHTS_FILE).write_bytes((tmp / "other" / WEIGHTS_FILE).read_bytes())
    spec = json.loads((path / SPEC_FILE).read_text())
    spec["weights_sha256"] = ""
    (path / SPEC_FILE).write_text(json.dumps(spec))
    return path


def _not_a_raster(tmp: Path) -> Path:
    (tmp / "scene.tif").write_text("hello")
    return tmp / "scene.tif"


def _truncated(tmp: Path) -> Path:
    full = write_stack(NORCIA, tmp / "full.tif")
    data = full.read_bytes()
    (tmp / "cut.tif").write_bytes(data[: len(data) * 2 // 3])
    return tmp / "cut.tif"


def _all_nodata(tmp: Path) -> Path:
    path = write_stack(NORCIA, tmp / "empty.tif")
    with rasterio.open(path, "r+") as ds:
        ds.write(np.zeros((ds.count, ds.height, ds.width), dtype=np.uint16))
    return path


BAD_SCENES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing path": (lambda tmp: tmp / "nope.tif", "scene not found"),
    "not a raster": (_not_a_raster, "not a readable raster"),
    "truncated tiff": (_truncated, "truncated or corrupt|not a readable raster"),
    "no crs": (lambda tmp: write_stack(NORCIA, tmp / "nocrs.tif", crs=False), "no CRS"),
    "missing bands": (
        lambda tmp: write_stack(NORCIA, tmp / "rgb.tif", ["B02", "B03", "B04"]),
        "lacks band",
    ),
    "all nodata": (_all_nodata, "no valid pixels"),
}


@pytest.mark.parametrize("case", list(BAD_SCENES))
def test_bad_scene(case: str, bundle_dir: Path, tmp_path: Path) -> None:
    make, message = BAD_SCENES[case]
    scene = make(tmp_path)
    out = tmp_path / "out"
    res = invoke("classify", str(scene), "-o", str(out), "--model", str(bundle_dir))
    assert_clean_failure(res, message, out)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_corrupt_bundle, "does not match the hash"),
        (_mismatched_bundle, "do not fit the architecture"),
        (lambda tmp: tmp, "not a model bundle"),
    ],
    ids=["corrupt bundle", "mismatched bundle", "not a bundle"],
)
def test_bad_bundle(make: Callable[[Path], Path], message: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = invoke("classify", str(NORCIA), "-o", str(out), "--model", str(make(tmp_path)))
    assert_clean_failure(res, message, out)


def test_unwritable_output_dir(bundle_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    res = invoke("classify", str(NORCIA), "-o", str(blocker / "out"), "--model", str(bundle_dir))
    assert_clean_failure(res, "cannot write to the output folder", blocker / "out")


def test_bad_band_mapping(bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = invoke(
        "classify", str(NORCIA), "-o", str(out), "--bands", "B02", "--model", str(bundle_dir)
    )
    assert_clean_failure(res, "cannot parse band mapping", out)


@pytest.mark.slow
def test_unreachable_scheduler(bundle_dir: Path, tmp_path: Path) -> None:
    res = invoke(
        "classify", str(NORCIA), "-o", str(tmp_path / "o"), "--model", str(bundle_dir),
        "--dask-address", "tcp://127.0.0.1:9",
    )  # fmt: skip
    assert_clean_failure(res, "cannot reach the Dask scheduler", tmp_path / "o")


# --- Sentinel-2 products: SAFE folder, zip, STAC item; masks -----------------------------------


@pytest.mark.slow
def test_classify_safe_with_a_user_mask_reports_the_masked_share(
    bundle_dir: Path, tmp_path: Path
) -> None:
    from tests.io.products import make_safe

    safe = make_safe(tmp_path / "p", "L1C", "02.06")
    with rasterio.open(NORCIA / "B10m.tif") as ds:
        profile = {**ds.profile, "count": 1, "dtype": "uint8", "nodata": None}
        mask = np.zeros((ds.height, ds.width), dtype=np.uint8)
    mask[100:150, 100:160] = 1  # 3000 pixels, all inside the crop's data
    with rasterio.open(tmp_path / "mask.tif", "w", **profile) as dst:
        dst.write(mask, 1)
    out = tmp_path / "out"
    res = invoke(
        "classify", str(safe), "-o", str(out), "--model", str(bundle_dir),
        "--mask", str(tmp_path / "mask.tif"), "--no-vectorize", "--no-cloud-mask",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(next(out.glob("*_stats.json")).read_text())
    assert summary["masked_pixels"] == 3000
    share = 100 * 3000 / (summary["valid_pixels"] + 3000)
    assert summary["masked_pct"] == pytest.approx(share)
    assert f"{share:.1f} % of the data masked" in res.stdout
    with rasterio.open(next(out.glob("*_classes.tif"))) as ds:
        assert (ds.read(1)[100:150, 100:160] == 255).all()
        assert ds.tags()["S2_PROCESSING_LEVEL"] == "L1C"


@pytest.mark.slow
def test_classify_masks_detected_clouds_unless_told_not_to(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """A real cloudy L1C image (../shared/data/clouds, DR Congo): clouds and shadows become
    nodata, are counted apart from nodata and recorded; the classes around them do not change."""
    from tests.conftest import SHARED

    scene = SHARED / "clouds" / "ROIs1158_spring_39_p100" / "cloudy.tif"
    masked, classes, stats = {}, {}, {}
    for flag in ("--cloud-mask=auto", "--no-cloud-mask"):
        out = tmp_path / flag
        res = invoke(
            "classify", str(scene), "-o", str(out), "--model", str(bundle_dir), flag,
            "--no-vectorize", "--quicklook",
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        stats[flag] = json.loads(next(out.glob("*_stats.json")).read_text())
        masked[flag] = stats[flag]["masked_pixels"]
        with rasterio.open(next(out.glob("*_classes.tif"))) as ds:
            classes[flag] = ds.read(1)
            tags = ds.tags()
        assert tags["GEOSEG_CLOUD_MASK"] == ("csmask" if flag == "--cloud-mask=auto" else "none")
    record = stats["--cloud-mask=auto"]["cloud_mask"]
    assert record["cloud_pct"] > 20 and record["shadow_pct"] > 5  # 33 % / 16 % measured
    assert masked["--cloud-mask=auto"] > 0.3 * 256 * 256 and masked["--no-cloud-mask"] == 0
    assert stats["--cloud-mask=auto"]["nodata_pixels"] == 0
    on = classes["--cloud-mask=auto"]
    clear = on != 255
    np.testing.assert_array_equal(on[clear], classes["--no-cloud-mask"][clear])
    info = invoke("info", str(next((tmp_path / "--cloud-mask=auto").glob("*_classes.tif"))))
    text = " ".join(info.stdout.split())
    assert "cloud mask: csmask (cloud" in text and f"{masked['--cloud-mask=auto']:,} masked" in text


def _product(tmp: Path, level: str = "L2A") -> Path:
    from tests.io.products import make_safe

    return make_safe(tmp / "p", level)


def _safe_missing_band(tmp: Path) -> Path:
    safe = _product(tmp)
    next(safe.rglob("*_B8A_20m.jp2")).unlink()
    return safe


def _safe_broken_xml(tmp: Path) -> Path:
    safe = _product(tmp)
    mtd = safe / "MTD_MSIL2A.xml"
    mtd.write_text(mtd.read_text().replace("</PROCESSING_BASELINE>", ""))
    return safe


def _unreadable_zip(tmp: Path) -> Path:
    from tests.io.products import zip_safe

    archive = zip_safe(_product(tmp), tmp / "p.zip")
    archive.write_bytes(archive.read_bytes()[:-5000])
    return archive


def _stac_missing_asset(tmp: Path) -> Path:
    from tests.io.products import make_stac_item

    item = make_stac_item(tmp / "s", "planetary-computer")
    (tmp / "s" / "cogs" / "B11.tif").unlink()
    return item


BAD_PRODUCTS: dict[str, tuple[Callable[[Path], Path], str, tuple[str, ...]]] = {
    "safe missing band": (_safe_missing_band, "incomplete: 1 band file.*B8A", ()),
    "safe broken xml": (_safe_broken_xml, "not readable XML", ()),
    "unreadable zip": (_unreadable_zip, "not a readable zip archive", ()),
    "stac missing asset": (_stac_missing_asset, "asset 'B11' not found", ()),
    "mask not found": (_product, "mask raster not found", ("--mask", "/no/mask.tif")),
    "scl on l1c": (
        lambda tmp: _product(tmp, "L1C"),
        "no scene classification",
        ("--scl-classes", "3"),
    ),
    "all masked": (  # every pixel holding data is in one of these SCL classes
        _product,
        "every pixel holding data is masked",
        ("--scl-classes", "3,4,9,10,11"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_PRODUCTS))
def test_bad_product(case: str, bundle_dir: Path, tmp_path: Path) -> None:
    make, message, extra = BAD_PRODUCTS[case]
    scene = make(tmp_path)
    out = tmp_path / "out"
    res = invoke("classify", str(scene), "-o", str(out), "--model", str(bundle_dir), *extra)
    assert_clean_failure(res, message, out)


@pytest.mark.slow
def test_mask_masks_out_and_keep_keeps_the_nonzero_pixels(bundle_dir: Path, tmp_path: Path) -> None:
    """A small raster over part of a real scene: --mask leaves its nonzero pixels out, --keep
    classifies only them (zero pixels and everything outside the raster are masked)."""
    with rasterio.open(NORCIA / "B10m.tif") as ds:
        window = rasterio.windows.Window(100, 80, 80, 60)  # the raster covers 80 x 60 px
        profile = {**ds.profile, "count": 1, "dtype": "uint8", "nodata": None}
        profile.update(width=80, height=60, transform=ds.window_transform(window))
        data = ds.read(1) > 0  # pixels holding data
    small = np.zeros((60, 80), dtype=np.uint8)
    small[20:50, 10:70] = 1  # 1800 pixels, inside the crop's data
    with rasterio.open(tmp_path / "fields.tif", "w", **profile) as dst:
        dst.write(small, 1)
    classes, masked = {}, {}
    for flag in ("--mask", "--keep"):
        out = tmp_path / flag.strip("-")
        res = invoke(
            "classify", str(NORCIA), "-o", str(out), "--model", str(bundle_dir),
            flag, str(tmp_path / "fields.tif"), "--no-vectorize",
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        masked[flag] = json.loads(next(out.glob("*_stats.json")).read_text())["masked_pixels"]
        with rasterio.open(next(out.glob("*_classes.tif"))) as ds:
            classes[flag] = ds.read(1)
            assert flag.strip("-") in ds.tags()["GEOSEG_MASKS"]
    inside = np.zeros_like(data)
    inside[100:130, 110:170] = True
    assert masked["--mask"] == 1800 and masked["--keep"] == data.sum() - 1800
    assert (classes["--mask"][inside] == 255).all() and (classes["--keep"][inside] != 255).all()
    assert (classes["--keep"][~inside] == 255).all()
    np.testing.assert_array_equal(classes["--mask"][data & ~inside] == 255, False)


@pytest.mark.slow
def test_outputs_of_another_scene_need_overwrite(bundle_dir: Path, tmp_path: Path) -> None:
    from tests.run.conftest import summary

    out = tmp_path / "out"
    out.mkdir()
    stats = out / f"{NORCIA.name}_stats.json"
    stats.write_text(summary(source="/data/other/norcia_20171018", source_id="x").to_json())
    before = stats.read_bytes()
    args = ("classify", str(NORCIA), "-o", str(out), "--model", str(bundle_dir), "--no-vectorize")
    res = invoke(*args)
    assert_clean_failure(res, r"another scene, /data/other/norcia_20171018 .*--overwrite")
    assert [p.name for p in out.iterdir()] == [stats.name] and stats.read_bytes() == before
    res = invoke(*args, "--overwrite")
    assert res.exit_code == 0, res.output
    assert json.loads(stats.read_text())["source"] == str(NORCIA.resolve())
