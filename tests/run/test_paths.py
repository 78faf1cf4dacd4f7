"""RunPaths: one place names every output of a run."""

from pathlib import Path

import pytest

from geoseg.run.options import OutputOptions
from geoseg.run.paths import SEGMENT_FILES, SUMMARY_FILES, RunPaths, scene_stem
from tests.conftest import NORCIA


def test_every_output_is_named_from_the_stem() -> None:
    p = RunPaths(Path("out"), "s")
    assert [p.classes, p.style, p.confidence, p.indices, p.polygons] == [
        Path("out/s_classes.tif"),
        Path("out/s_classes.qml"),
        Path("out/s_confidence.tif"),
        Path("out/s_indices.tif"),
        Path("out/s.gpkg"),
    ]
    assert [p.stac_item, p.stats_csv, p.stats_json] == [
        Path("out/s_item.json"),
        Path("out/s_stats.csv"),
        Path("out/s_stats.json"),
    ]
    assert [p.confidence_style, p.probabilities, p.quicklook] == [
        Path("out/s_confidence.qml"),
        Path("out/s_probabilities.tif"),
        Path("out/s_quicklook.png"),
    ]
    assert p.chunk_store("abc") == Path("out/.geoseg-chunks-s-abc")


@pytest.mark.parametrize(
    ("output", "absent"),
    [
        (OutputOptions(), {"indices", "probabilities", "quicklook"}),
        (OutputOptions(indices=("NDVI",), probabilities=True, quicklook=True), set()),
        (
            OutputOptions(confidence=False, vectorize=False, stac=False),
            {"confidence", "confidence_style", "indices", "polygons", "stac_item"}
            | {"probabilities", "quicklook"},
        ),
    ],
)
def test_written_follows_the_output_options(output: OutputOptions, absent: set[str]) -> None:
    written = RunPaths(Path("o"), "s").written(output)
    assert set(SEGMENT_FILES) | set(SUMMARY_FILES) | {"polygons"} == set(written) | absent
    assert not set(written) & absent


def test_stem_of_a_scene() -> None:
    from geoseg.io.reader import open_scene

    assert RunPaths.for_scene("x", open_scene(NORCIA)) == RunPaths(Path("x"), NORCIA.name)

    class Fake:
        source = "/data/S2A_MSIL2A_X.SAFE"

    assert scene_stem(Fake()) == "S2A_MSIL2A_X"  # type: ignore[arg-type]


# --- SAFE-layout folders as scenes: named after the granule or product, never IMG_DATA ----------


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An L1C and an L2A SAFE folder of the real Norcia crop (tests/io/products.py)."""
    from tests.io.products import make_safe

    root = tmp_path_factory.mktemp("products")
    return make_safe(root / "l1c", "L1C", "02.06"), make_safe(root / "l2a", "L2A", "05.09")


def _link_bands(source: Path, dest: Path, rename: dict[str, str] | None = None) -> Path:
    """``dest`` holding symlinks to ``source``'s band files, their names changed by ``rename``."""
    dest.mkdir(parents=True)
    for band in sorted(source.glob("*.jp2")):
        name = band.name
        for old, new in (rename or {}).items():
            name = name.replace(old, new)
        (dest / name).symlink_to(band)
    return dest


def _stem(path: Path) -> str:
    from geoseg.io.reader import open_scene

    return RunPaths.for_scene("o", open_scene(path)).stem


def test_img_data_folders_are_named_after_their_granule(
    products: tuple[Path, Path], tmp_path: Path
) -> None:
    l1c, l2a = products
    granule = next((l1c / "GRANULE").iterdir())
    assert granule.name == "L1C_T33TUH_A003456_20171018T101021"
    assert _stem(granule / "IMG_DATA") == granule.name
    r10m = next((l2a / "GRANULE").iterdir()) / "IMG_DATA" / "R10m"
    assert _stem(r10m) == "L2A_T33TUH_A003456_20171018T101021"
    # a second product's granule, its band files linked from the first: its own name
    other = tmp_path / "B.SAFE" / "GRANULE" / "L1C_T33TUH_A003599_20171028T101021" / "IMG_DATA"
    _link_bands(granule / "IMG_DATA", other)
    assert _stem(other) == "L1C_T33TUH_A003599_20171028T101021"
    # a symlink named IMG_DATA to a granule's folder: the granule it points into
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "IMG_DATA").symlink_to(granule / "IMG_DATA")
    assert _stem(tmp_path / "link" / "IMG_DATA") == granule.name
    # the product itself keeps its name
    assert _stem(l1c) == l1c.name.removesuffix(".SAFE")


def test_layout_folders_outside_a_product_use_the_band_files_or_the_folder_above(
    products: tuple[Path, Path], tmp_path: Path
) -> None:
    img_data = next((products[0] / "GRANULE").iterdir()) / "IMG_DATA"
    bare = _link_bands(img_data, tmp_path / "download" / "IMG_DATA", {"T33TUH": "T32TQM"})
    assert _stem(bare) == "T32TQM_20171018T101021"
    plain = _link_bands(img_data, tmp_path / "scene_a" / "R10m", {"T33TUH_20171018T101021_": ""})
    assert sorted(p.name for p in plain.iterdir())[0] == "B01.jp2"
    assert _stem(plain) == "scene_a"


def test_catalogue_folders_of_layout_scenes_are_named_after_the_granule(
    products: tuple[Path, Path], tmp_path: Path
) -> None:
    from geoseg.run.catalog import load_catalog

    granule = next((products[0] / "GRANULE").iterdir())
    cat = tmp_path / "catalog.yaml"
    cat.write_text(f"out_dir: out\nscenes:\n  - scene: {granule / 'IMG_DATA'}\n")
    (req,) = load_catalog(cat)
    assert req.out_dir == str(tmp_path / "out" / granule.name)
