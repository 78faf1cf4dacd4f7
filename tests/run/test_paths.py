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
    assert p.chunk_store("abc") == Path("out/.geoseg-chunks-s-abc")


@pytest.mark.parametrize(
    ("output", "absent"),
    [
        (OutputOptions(), {"indices"}),
        (OutputOptions(indices=("NDVI",)), set()),
        (
            OutputOptions(confidence=False, vectorize=False, stac=False),
            {"confidence", "indices", "polygons", "stac_item"},
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
