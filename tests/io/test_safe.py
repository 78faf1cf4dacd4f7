"""SAFE products (folder and zip, L1C and L2A) read as the same reflectance as the GeoTIFF crop."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from rasterio.windows import Window

from geoseg.errors import BandError, InputError
from geoseg.io.geotiff import open_scene as open_geotiff
from geoseg.io.safe import open_safe
from tests.conftest import BANDS, NORCIA
from tests.io.products import SENSING_ISO, SUN, TILE, make_safe, mtd_xml, zip_safe


def _full(scene):  # type: ignore[no-untyped-def]
    return scene.read(Window(0, 0, scene.grid.width, scene.grid.height), BANDS)


def test_l1c_safe_reads_exactly_the_geotiff_crop(l1c_safe: Path) -> None:
    ref, scene = open_geotiff(NORCIA), open_safe(l1c_safe)
    assert scene.kind == "safe" and scene.grid.same_as(ref.grid)
    assert scene.band_names == ["B01", *BANDS[:6], "B08", "B8A", "B11", "B12"]
    assert all(b.path.endswith(".jp2") and b.offset == 0 for b in scene.bands.values())
    (r0, v0), (r1, v1) = _full(ref), _full(scene)
    np.testing.assert_array_equal(v1, v0)
    np.testing.assert_array_equal(r1, r0)  # same DN, same per-window bilinear for 20 m bands
    assert scene.masks == []  # L1C: no scene classification


def test_l2a_offset_and_provenance_come_from_the_metadata(l2a_safe: Path) -> None:
    scene = open_safe(l2a_safe)
    assert scene.bands["B04"].offset == pytest.approx(-0.1)  # BOA_ADD_OFFSET -1000 x 1/10000
    assert scene.bands["B04"].scale == pytest.approx(1e-4) and scene.bands["B04"].nodata == 0
    (r0, v0), (r1, v1) = _full(open_geotiff(NORCIA)), _full(scene)
    np.testing.assert_array_equal(v1, v0)
    np.testing.assert_allclose(r1, r0, atol=1e-6)  # DN were stored +1000
    assert scene.provenance == {
        "S2_PRODUCT": f"{l2a_safe.name}",
        "S2_PROCESSING_LEVEL": "L2A",
        "S2_PROCESSING_BASELINE": "05.09",
        "S2_TILE_ID": TILE,
        "S2_SENSING_TIME": SENSING_ISO,
        "S2_SPACECRAFT": "Sentinel-2B",
        "S2_SUN_ZENITH": f"{SUN[0]:g}",  # the granule's MTD_TL.xml Mean_Sun_Angle
        "S2_SUN_AZIMUTH": f"{SUN[1]:g}",
    }


def test_l2a_bands_come_from_their_native_resolution(l2a_safe: Path) -> None:
    scene = open_safe(l2a_safe)
    assert "/R10m/" in scene.bands["B02"].path and "/R20m/" in scene.bands["B8A"].path
    assert "/R60m/" in scene.bands["B01"].path
    assert scene.grid.res == (10.0, 10.0)
    refl, valid = scene.read(Window(100, 100, 12, 12), ["B01"])  # 60 m band on the 10 m grid
    assert refl.shape == (1, 12, 12) and valid.all() and 0 < refl.mean() < 1
    (scl,) = scene.masks
    assert scl.name == "SCL" and "/R20m/" in scl.path and scl.classes == (3, 8, 9, 10)


def test_zip_reads_in_place_like_the_folder(l2a_safe: Path, l2a_zip: Path) -> None:
    folder, zipped = open_safe(l2a_safe), open_safe(l2a_zip)
    assert zipped.kind == "safe-zip" and zipped.provenance == folder.provenance
    assert all(b.path.startswith("/vsizip/") for b in zipped.bands.values())
    win = Window(40, 30, 200, 150)
    np.testing.assert_array_equal(zipped.read(win, BANDS)[0], folder.read(win, BANDS)[0])
    np.testing.assert_array_equal(zipped.read_mask(win), folder.read_mask(win))


def test_baseline_04_without_offset_list_gets_minus_1000(tmp_path: Path) -> None:
    safe = make_safe(tmp_path, "L1C", "04.00")
    mtd = safe / "MTD_MSIL1C.xml"
    mtd.write_text(
        re.sub(r"<Radiometric_Offset_List>.*</Radiometric_Offset_List>", "", mtd.read_text())
    )
    assert open_safe(safe).bands["B02"].offset == pytest.approx(-0.1)
    assert open_safe(make_safe(tmp_path / "old", "L1C", "03.01")).bands["B02"].offset == 0


def test_metadata_without_file_list_finds_the_granule_bands(tmp_path: Path) -> None:
    scene = open_safe(make_safe(tmp_path, "L2A", list_files=False))
    assert len(scene.bands) == 11 and scene.provenance["S2_TILE_ID"] == TILE


def test_missing_band_file_is_named(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    next(safe.rglob("*_B04_10m.jp2")).unlink()
    with pytest.raises(BandError, match=r"incomplete: 1 band file.*B04_10m.*download"):
        open_safe(safe)


def test_missing_band_without_file_list_fails_at_the_band_check(tmp_path: Path) -> None:
    safe = make_safe(tmp_path, list_files=False)
    next(safe.rglob("*_B04_10m.jp2")).unlink()
    scene = open_safe(safe)
    with pytest.raises(BandError, match=r"lacks band.*B04.*use a product that holds") as err:
        scene.require(BANDS)
    assert "--bands" not in str(err.value)  # products name their bands: no mapping helps


def test_broken_xml(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    mtd = safe / "MTD_MSIL2A.xml"
    mtd.write_text(mtd.read_text()[:500])
    with pytest.raises(InputError, match=r"not readable XML.*MTD_MSIL2A.xml.*download"):
        open_safe(safe)


def test_xml_of_something_else(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    (safe / "MTD_MSIL2A.xml").write_text("<root><a>1</a></root>")
    with pytest.raises(InputError, match="lacks Product_Info/PROCESSING_BASELINE"):
        open_safe(safe)


def test_bad_number_in_metadata(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    mtd = safe / "MTD_MSIL2A.xml"
    mtd.write_text(mtd.read_text().replace('band_id="3">-1000', 'band_id="3">minus'))
    with pytest.raises(InputError, match="BOA_ADD_OFFSET is not a number: 'minus'"):
        open_safe(safe)


def test_no_metadata_file(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    (safe / "MTD_MSIL2A.xml").unlink()
    with pytest.raises(InputError, match=r"no MTD_MSIL1C.xml or MTD_MSIL2A.xml"):
        open_safe(safe)


def test_unreadable_zip(tmp_path: Path, l2a_zip: Path) -> None:
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(l2a_zip.read_bytes()[: l2a_zip.stat().st_size // 2])
    with pytest.raises(InputError, match=r"not a readable zip archive.*download the product again"):
        open_safe(truncated)
    text = tmp_path / "text.zip"
    text.write_text("not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        open_safe(text)


def test_corrupt_member_of_a_zip(tmp_path: Path, l2a_safe: Path) -> None:
    safe = tmp_path / l2a_safe.name
    shutil.copytree(l2a_safe, safe)
    jp2 = next(safe.rglob("*_B03_10m.jp2"))
    jp2.write_bytes(jp2.read_bytes()[:300])  # truncated band inside an intact archive
    with pytest.raises(InputError, match=r"band raster is missing, truncated or unreadable.*B03"):
        open_safe(zip_safe(safe, tmp_path / "p.zip"))


def test_two_granules_are_refused(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    granule = next((safe / "GRANULE").iterdir())
    shutil.copytree(granule, granule.with_name(granule.name.replace("A003456", "A003457")))
    mtd = safe / "MTD_MSIL2A.xml"
    mtd.write_text(mtd_xml("L2A", "05.09", safe.stem, []))
    with pytest.raises(InputError, match="2 granules"):
        open_safe(safe)
