import os
from pathlib import Path

import pytest

import geoseg
from geoseg.errors import InputError
from geoseg.run.catalog import SceneRequest, is_done, load_catalog
from geoseg.run.classify import Options
from geoseg.run.identity import ModelRef
from tests.conftest import BEIRUT, NORCIA
from tests.run.conftest import summary


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_paths_resolve_against_the_catalogue_and_options_merge(tmp_path: Path) -> None:
    (tmp_path / "incoming").mkdir()
    for name in ("b.tif", "a.tif", "notes.txt"):
        (tmp_path / "incoming" / name).touch()
    cat = write(
        tmp_path / "catalog.yaml",
        f"""
out_dir: out
model: models/mine
options: {{min_area_ha: 0.5, indices: [NDVI]}}
scenes:
  - scene: {NORCIA}
    name: norcia
    options: {{min_area_ha: 1}}
  - watch: incoming/*.tif
    read: {{mask: masks/clouds.tif, scl_classes: [8, 9]}}
""",
    )
    reqs = load_catalog(cat, {"device": "cpu"})
    assert [Path(r.scene).name for r in reqs] == [NORCIA.name, "a.tif", "b.tif"]
    assert [r.out_dir for r in reqs] == [str(tmp_path / "out" / n) for n in ("norcia", "a", "b")]
    assert all(r.model == str(tmp_path / "models/mine") for r in reqs)
    assert reqs[0].options == Options(min_area_ha=1, indices=("NDVI",), device="cpu")
    assert reqs[1].options == Options(min_area_ha=0.5, indices=("NDVI",), device="cpu")
    assert reqs[0].read.kwargs() == {"cloud_mask": "auto"}
    assert reqs[1].read.kwargs() == {
        "mask": str(tmp_path / "masks/clouds.tif"),
        "scl_classes": (8, 9),
        "cloud_mask": "auto",
    }


def test_aoi_resolves_against_the_catalogue_and_bbox_is_read(tmp_path: Path) -> None:
    text = f"scenes: [{{scene: {NORCIA}, read: {{aoi: a.gpkg, bbox: [13, 42, 14, 43]}}}}]"
    req = load_catalog(write(tmp_path / "catalog.yaml", text))[0]
    assert req.read.aoi == str(tmp_path / "a.gpkg") and req.read.bbox == (13, 42, 14, 43)


def test_keep_rasters_resolve_against_the_catalogue(tmp_path: Path) -> None:
    cat = write(tmp_path / "catalog.yaml", f"scenes: [{{scene: {NORCIA}, read: {{keep: f.tif}}}}]")
    (req,) = load_catalog(cat)
    assert req.read.keep == str(tmp_path / "f.tif") and req.read.mask is None


def test_the_shipped_catalogue_loads() -> None:
    reqs = load_catalog(Path(__file__).parents[2] / "tiles" / "catalog.yaml")
    assert len(reqs) == 1 and Path(reqs[0].scene).is_dir()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scenes: [{scene: a, watch: b}]", "exactly one of 'scene' or 'watch'"),
        ("scenes: [{scene: a, colour: red}]", "scenes.0.colour: Extra inputs"),
        ("scenes: [{scene: a, options: {min_area_ha: lots}}]", "min_area_ha 'lots' is not valid"),
        ("scenes: [{scene: a, options: {tile: 3}}]", "unknown option(s) tile"),
        ("scenes: [{scene: a, options: {tile_size: 100}}]", "--tile-size 100 is out of range"),
        ("scenes: [{scene: a, read: {scale: 0}}]", "scale: Value error"),
        ("scenes: [{scene: a}, {scene: b/a}]", "give one of them a distinct 'name'"),
        ("scenes: [{scene: a}\n  - oops", "cannot read the catalogue"),
        ("out_dir: x", "scenes: Field required"),
        ("scenes: [{scene: a, read: {clouds: 1}}]", "clouds: Extra inputs"),
    ],
)
def test_bad_catalogues_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    cat = write(tmp_path / "catalog.yaml", text)
    with pytest.raises(InputError) as err:
        load_catalog(cat)
    line = str(err.value)
    assert message in line and "catalog.yaml" in line and "\n" not in line


def test_missing_catalogue(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="catalogue not found"):
        load_catalog(tmp_path / "nope.yaml")


@pytest.mark.slow  # several whole runs (seconds)
def test_done_only_with_same_inputs_model_options_and_all_outputs(
    tmp_path: Path, bundle_dir: Path
) -> None:
    src = tmp_path / "scene.tif"
    src.write_bytes((NORCIA / "B10m.tif").read_bytes())
    # B10m alone lacks the 20 m bands: a folder scene keeps the test honest about folders too
    scene = tmp_path / "norcia"
    scene.mkdir()
    for f in ("B10m.tif", "B20m.tif"):
        (scene / f).write_bytes((NORCIA / f).read_bytes())
    opts = Options(min_area_ha=0.5)
    req = SceneRequest(
        scene=str(scene), out_dir=str(tmp_path / "out"), model=str(bundle_dir), options=opts
    )
    assert not is_done(req)
    res = geoseg.classify(scene, tmp_path / "out", model=bundle_dir, options=opts)
    assert is_done(req)
    assert not is_done(req.model_copy(update={"options": Options(min_area_ha=1)}))
    assert not is_done(req.model_copy(update={"model": None}))  # the shipped model
    assert is_done(req.model_copy(update={"options": Options(min_area_ha=0.5, chunk_size=512)}))
    assert res.polygons is not None
    res.polygons.unlink()
    assert not is_done(req)
    geoseg.classify(scene, tmp_path / "out", model=bundle_dir, options=opts)
    assert is_done(req)
    st = os.stat(scene / "B20m.tif")
    os.utime(scene / "B20m.tif", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not is_done(req)


def test_done_on_a_missing_scene_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(geoseg.GeosegError):
        is_done(SceneRequest(scene=str(tmp_path / "gone.tif"), out_dir=str(tmp_path)))
    assert BEIRUT.exists()


def test_done_checks_load_the_bundle_once_until_it_changes(
    tmp_path: Path, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geoseg.run.catalog as catalog
    from tests.conftest import make_bundle

    loads: list[str] = []
    real = catalog.load_bundle
    monkeypatch.setattr(catalog, "load_bundle", lambda p=None: loads.append(str(p)) or real(p))
    catalog._cached_bundle.cache_clear()
    model = make_bundle(tmp_path / "model", seed=1).path
    reqs = [SceneRequest(scene=str(NORCIA), out_dir=str(tmp_path / f"o{i}"), model=str(model))
            for i in range(3)]  # fmt: skip
    for i in range(3):  # a stats file from some earlier run: the model must be compared
        (tmp_path / f"o{i}").mkdir()
        stats = tmp_path / f"o{i}" / f"{NORCIA.name}_stats.json"
        stats.write_text(summary(model=ModelRef(name="old", sha256="0" * 64)).to_json())
    assert not any(is_done(r) for r in reqs)
    assert len(loads) == 1  # one load for three scenes
    first = catalog._bundle(str(model)).sha256
    make_bundle(tmp_path / "model", seed=2)  # retrained in place: new weights
    assert not is_done(reqs[0]) and len(loads) == 2
    assert catalog._bundle(str(model)).sha256 != first
