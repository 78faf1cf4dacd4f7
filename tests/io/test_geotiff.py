from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from geoseg.errors import BandError, InputError
from geoseg.io.geotiff import open_scene, parse_band_mapping
from tests.conftest import BANDS, NORCIA, SHARED, write_stack


def test_folder_of_resolutions_reads_onto_the_finest_grid() -> None:
    scene = open_scene(NORCIA)
    with rasterio.open(NORCIA / "B10m.tif") as ten:
        assert scene.grid.width == ten.width and scene.grid.height == ten.height
        assert scene.grid.transform == ten.transform
    assert scene.band_names == BANDS
    assert Path(scene.bands["B05"].path).name == "B20m.tif"
    refl, valid = scene.read(Window(0, 0, scene.grid.width, scene.grid.height), ["B04", "B05"])
    assert refl.shape == (2, scene.grid.height, scene.grid.width)
    assert refl.dtype == np.float32
    assert 0.0 < refl[1][valid].mean() < 0.5  # reflectance, not DN
    assert not valid.all() and valid.mean() > 0.9  # the crop's nodata wedges


def test_windowed_reads_match_the_full_read_for_resampled_bands() -> None:
    scene = open_scene(NORCIA)
    full, fvalid = scene.read(Window(0, 0, scene.grid.width, scene.grid.height), BANDS)
    win = Window(37, 101, 150, 97)
    part, pvalid = scene.read(win, BANDS)
    np.testing.assert_array_equal(part, full[:, 101:198, 37:187])
    np.testing.assert_array_equal(pvalid, fvalid[101:198, 37:187])


def test_single_file_matches_the_folder(norcia_tif: Path) -> None:
    a, b = open_scene(norcia_tif), open_scene(NORCIA)
    assert a.grid.same_as(b.grid)
    win = Window(0, 0, 200, 200)
    ra, va = a.read(win, BANDS)
    rb, vb = b.read(win, BANDS)
    np.testing.assert_allclose(ra, rb, atol=0.5e-4 + 1e-7)
    np.testing.assert_array_equal(va, vb)


def test_band_aliases_in_descriptions(tmp_path: Path) -> None:
    path = write_stack(
        NORCIA, tmp_path / "rgbn.tif", ["B02", "B03", "B04", "B08"], descriptions=False
    )
    with rasterio.open(path, "r+") as ds:
        for i, alias in enumerate(["blue", "Green", "red", "NIR"], start=1):
            ds.set_band_description(i, alias)
    assert open_scene(path).band_names == ["B02", "B03", "B04", "B08"]


def test_thirteen_unnamed_bands_follow_the_l1c_order(tmp_path: Path) -> None:
    names = ["B02"] * 13
    path = write_stack(NORCIA, tmp_path / "l1c.tif", names, descriptions=False)
    scene = open_scene(path)
    assert scene.band_names[:3] == ["B01", "B02", "B03"] and "B10" in scene.band_names


def test_explicit_band_mapping(tmp_path: Path) -> None:
    path = write_stack(NORCIA, tmp_path / "x.tif", ["B04", "B08"], descriptions=False)
    with pytest.raises(BandError, match="cannot tell which band"):
        open_scene(path)
    scene = open_scene(path, bands="red=1,B08=2")
    assert scene.band_names == ["B04", "B08"]
    folder = open_scene(NORCIA, bands="B02=B10m.tif:1,B11=B20m.tif:5")
    assert folder.bands["B11"].index == 5


@pytest.mark.parametrize("text", ["B02", "B02=x", "B99=1", "B02=0"])
def test_bad_band_mappings(text: str) -> None:
    with pytest.raises(BandError):
        parse_band_mapping(text)


def test_band_mapping_beyond_the_file_is_refused(norcia_tif: Path) -> None:
    with pytest.raises(BandError, match="has 10 band"):
        open_scene(norcia_tif, bands="B02=11")


def test_processing_baseline_04_offset_and_overrides(tmp_path: Path, norcia_tif: Path) -> None:
    path = write_stack(NORCIA, tmp_path / "pb.tif", ["B04", "B08"])
    with rasterio.open(path, "r+") as ds:
        ds.update_tags(PROCESSING_BASELINE="05.09")
    src = open_scene(path).bands["B04"]
    assert src.scale == pytest.approx(1e-4) and src.offset == pytest.approx(-0.1)
    assert open_scene(path, offset=0).bands["B04"].offset == 0
    assert open_scene(norcia_tif).bands["B04"].offset == 0
    assert open_scene(norcia_tif, offset=-1000).bands["B04"].offset == pytest.approx(-0.1)
    with rasterio.open(path, "r+") as ds:
        ds.update_tags(BOA_ADD_OFFSET_B4="-500")
    assert open_scene(path).bands["B04"].offset == pytest.approx(-0.05)


def test_nodata_from_file_or_option(norcia_tif: Path) -> None:
    assert open_scene(norcia_tif).bands["B02"].nodata == 0
    scene = open_scene(norcia_tif, nodata=65535)
    _, valid = scene.read(Window(0, 0, 348, 299), ["B02"])
    assert valid.all()


def test_float_reflectance_is_not_rescaled(tmp_path: Path) -> None:
    scene = open_scene(NORCIA)
    refl, _ = scene.read(Window(0, 0, 64, 64), ["B04", "B08"])
    path = tmp_path / "float.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=2,
        dtype="float32",
        crs=scene.grid.crs,
        transform=scene.grid.transform,
        nodata=np.nan,
    ) as dst:
        dst.write(refl)
        dst.descriptions = ("B04", "B08")
    back, valid = open_scene(path).read(Window(0, 0, 64, 64), ["B04", "B08"])
    np.testing.assert_array_equal(back[:, valid], refl[:, valid])


def test_missing_path() -> None:
    with pytest.raises(InputError, match="scene not found"):
        open_scene("/no/such/scene.tif")


def test_not_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("this is not a GeoTIFF\n")
    with pytest.raises(InputError, match="not a readable raster"):
        open_scene(path)


def test_no_crs(tmp_path: Path) -> None:
    path = write_stack(NORCIA, tmp_path / "nocrs.tif", crs=False)
    with pytest.raises(InputError, match="no CRS"):
        open_scene(path)


def test_truncated_tiff(tmp_path: Path, norcia_tif: Path) -> None:
    path = tmp_path / "cut.tif"
    data = norcia_tif.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"truncated or corrupt|not a readable raster"):
        open_scene(path)


def test_missing_bands_are_named(norcia_tif: Path) -> None:
    scene = open_scene(norcia_tif)
    with pytest.raises(BandError, match=r"lacks band.*B01") as err:
        scene.require(["B02", "B01"])
    assert "--bands B02=1,B01=2 " in str(err.value)  # every band the run reads, not four


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no raster files"):
        open_scene(tmp_path)


def test_folder_of_single_band_files_named_by_band(tmp_path: Path) -> None:
    """Real BigEarthNet L2A patch: one GeoTIFF per band at 10, 20 and 60 m."""
    import tarfile

    archive = SHARED / "l2a-samples" / "bigearthnet" / "BigEarthNet-S2-Example.tar.bz2"
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    patch = next((tmp_path / "BigEarthNet-S2-Example").iterdir())
    scene = open_scene(patch)
    assert len(scene.band_names) == 12 and "B10" not in scene.band_names
    assert scene.shape == (120, 120)
    refl, valid = scene.read(Window(0, 0, 120, 120), ["B01", "B05", "B08"])
    assert valid.all() and refl.shape == (3, 120, 120)
    assert (refl > 0).all() and (refl < 1.5).all()


def _has_netcdf() -> bool:
    with rasterio.Env() as env:
        return "netCDF" in env.drivers()


@pytest.mark.skipif(not _has_netcdf(), reason="GDAL built without the netCDF driver")
def test_netcdf_with_several_variables_names_them_and_the_way_out(tmp_path: Path) -> None:
    """Not "no CRS": GDAL shows no image at the top of a file with several variables."""
    import rasterio.shutil

    stack = write_stack(NORCIA, tmp_path / "stack.tif", ["B04", "B08"])
    nc = tmp_path / "stack.nc"
    rasterio.shutil.copy(stack, nc, driver="netCDF")  # GDAL writes one variable per band
    pick = f'NETCDF:"{nc}":Band1'
    with pytest.raises(InputError, match=r"holds 2 variables \(Band1, Band2\), not one image") as e:
        open_scene(nc)
    assert f"gdal_translate '{pick}' scene.tif" in str(e.value)
    with pytest.raises(InputError, match="not GDAL subdataset names"):
        open_scene(pick)
    rasterio.shutil.copy(pick, tmp_path / "scene.tif", driver="GTiff")  # the remedy works
    scene = open_scene(tmp_path / "scene.tif", bands="B04=1")
    assert scene.grid.crs == open_scene(stack).grid.crs and scene.band_names == ["B04"]


@pytest.mark.skipif(not _has_netcdf(), reason="GDAL built without the netCDF driver")
def test_netcdf_with_a_variable_per_band_suggests_a_folder_of_bands(tmp_path: Path) -> None:
    import netCDF4

    nc = tmp_path / "bands.nc"
    with netCDF4.Dataset(nc, "w") as ds:
        ds.createDimension("y", 3)
        ds.createDimension("x", 4)
        for name in ("B04", "B08"):
            ds.createVariable(name, "u2", ("y", "x"))[:] = np.ones((3, 4))
    with pytest.raises(InputError, match=r"holds 2 variables \(B04, B08\)") as e:
        open_scene(nc)
    assert f"""gdal_translate 'NETCDF:"{nc}":B04' bands/B04.tif""" in str(e.value)
    assert "give the folder" in str(e.value)


def test_the_band_mapping_hint_names_every_band_and_following_it_works(tmp_path: Path) -> None:
    """The hint for unnamed bands maps as many bands as the file holds (ten: those the model
    reads), so following it does not lead into "scene lacks bands"."""
    path = write_stack(NORCIA, tmp_path / "unnamed.tif", descriptions=False)
    with pytest.raises(BandError, match="cannot tell which band is which") as e:
        open_scene(path)
    hint = str(e.value).split("e.g. --bands ")[1].split()[0]
    assert hint == "B02=1,B03=2,B04=3,B05=4,B06=5,B07=6,B08=7,B8A=8,B11=9,B12=10"
    scene = open_scene(path, bands=hint)
    scene.require(BANDS)  # what the model reads: no next error
    assert scene.band_names == BANDS
