"""Run identity: source files and masks, chunk fingerprints, result options, the stats JSON."""

import zipfile
from pathlib import Path

import pytest

from geoseg.io.geotiff import open_scene
from geoseg.run.identity import (
    RunSummary,
    chunk_fingerprint,
    file_identity,
    fingerprint,
    result_options,
    run_key,
    source_identity,
)
from geoseg.run.options import Options
from geoseg.tiling import TileGrid
from tests.conftest import NORCIA, make_spec
from tests.run.conftest import summary as make_summary


def test_zip_member_is_identified_by_its_archive(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("P.SAFE/B02.jp2", b"x")
    member = f"/vsizip/{archive}/P.SAFE/B02.jp2"
    st = archive.stat()
    assert file_identity(member) == [member, st.st_size, st.st_mtime_ns]
    link = tmp_path / "linked.zip"
    link.symlink_to(archive)
    assert file_identity(f"/vsizip/{link}/P.SAFE/B02.jp2") == file_identity(member)
    url = "/vsicurl/https://example.org/B02.tif"
    assert file_identity(url) == [url]


def test_masks_change_the_fingerprint(tmp_path: Path) -> None:
    band = tmp_path / "b.tif"
    band.write_bytes(b"x")
    grid = TileGrid(100, 100, 64, 16, 2)
    plain = fingerprint([str(band)], "sha", grid, ())
    assert plain == fingerprint([str(band)], "sha", grid, (), ())
    scl = fingerprint([str(band)], "sha", grid, (), ("SCL (classes 3,8,9,10)",))
    other = fingerprint([str(band)], "sha", grid, (), ("SCL (classes 3,9)",))
    assert len({plain, scl, other}) == 3


def test_the_chunk_fingerprint_covers_the_whole_tile_grid(tmp_path: Path) -> None:
    """Chunks computed on another grid (the edge margin included) are never resumed."""
    band = tmp_path / "b.tif"
    band.write_bytes(b"x")
    grid = TileGrid(100, 100, 64, 16, 2, margin=16)
    same = fingerprint([str(band)], "sha", TileGrid(100, 100, 64, 16, 2, margin=16), ())
    assert fingerprint([str(band)], "sha", grid, ()) == same
    for other in (TileGrid(100, 100, 64, 16, 2), TileGrid(100, 100, 64, 16, 3, margin=16)):
        assert fingerprint([str(band)], "sha", other, ()) != same
    assert fingerprint([str(band)], "sha+tta", grid, ()) != same


def test_chunks_holding_probabilities_are_another_store(tmp_path: Path) -> None:
    """A store made without --probabilities cannot give the probability raster: not reused;
    runs without the option keep the fingerprint they had before it existed."""
    band = tmp_path / "b.tif"
    band.write_bytes(b"x")
    grid = TileGrid(100, 100, 64, 16, 2)
    plain = fingerprint([str(band)], "sha", grid, ())
    assert fingerprint([str(band)], "sha", grid, (), (), probabilities=False) == plain
    assert fingerprint([str(band)], "sha", grid, (), (), probabilities=True) != plain


def test_result_options_without_the_new_outputs_keep_their_json() -> None:
    """Runs without --probabilities/--quicklook write the stats JSON and run key they did."""
    base = result_options(Options(), _Bundle())  # type: ignore[arg-type]
    assert "probabilities" not in base.model_dump(exclude_none=True)
    key = run_key("src", "sha", base, Path("/o"))
    with_png = result_options(Options(quicklook=True), _Bundle())  # type: ignore[arg-type]
    assert with_png.quicklook is True and run_key("src", "sha", with_png, Path("/o")) != key
    probs = result_options(Options(probabilities=True), _Bundle())  # type: ignore[arg-type]
    assert probs.probabilities is True and probs != base


def test_source_identity_changes_when_the_input_is_rewritten(tmp_path: Path) -> None:
    src = tmp_path / "scene.tif"
    src.write_bytes((NORCIA / "B10m.tif").read_bytes())
    first = source_identity(open_scene(src))
    assert source_identity(open_scene(src)) == first
    src.write_bytes(src.read_bytes() + b"\0")
    assert source_identity(open_scene(src)) != first


class _Bundle:
    spec = make_spec(tile=256, overlap=32)


def test_result_options_fill_the_bundle_tiling_and_ignore_speed() -> None:
    bundle = _Bundle()
    base = result_options(Options(), bundle)  # type: ignore[arg-type]
    assert (base.tile_size, base.overlap) == (256, 32)
    fast = Options(chunk_size=512, workers=3, engine="inprocess", device="cpu")
    assert result_options(fast, bundle) == base  # type: ignore[arg-type]
    assert result_options(Options(min_area_ha=1), bundle) != base  # type: ignore[arg-type]
    assert result_options(Options(min_area_ha=1), bundle).model_dump()["min_area_ha"] == 1  # type: ignore[arg-type]
    key = run_key("src", "sha", base, Path("/o"))
    assert len(key) == 24 and key != run_key("src", "sha", base, Path("/p"))


def test_summary_json_round_trip_and_checks(tmp_path: Path) -> None:
    summary = make_summary()
    path = tmp_path / "s_stats.json"
    path.write_text(summary.to_json())
    assert '"polygons"' not in path.read_text()  # no polygons drawn: no column
    assert RunSummary.load(path) == summary
    assert summary.same_inputs("id", "sha") and not summary.same_inputs("id", "other")
    assert summary.areas_ha() == {"water": 0.02}


@pytest.mark.parametrize("text", ["{}", "not json", '{"source_id": 1}'])
def test_a_file_that_is_no_summary_loads_as_none(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s_stats.json"
    path.write_text(text)
    assert RunSummary.load(path) is None
    assert RunSummary.load(tmp_path / "missing.json") is None


def test_a_symlinked_folder_or_a_relative_path_is_the_same_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One input, one identity: the stats JSON, the chunk store, the flows and the catalogue
    must not take a scene reached another way for a new one (and classify it again)."""
    link = tmp_path / "linked"
    link.symlink_to(NORCIA.resolve(), target_is_directory=True)
    monkeypatch.chdir(NORCIA.parent)
    ways = [open_scene(NORCIA.resolve()), open_scene(link), open_scene(Path(NORCIA.name))]
    assert len({source_identity(s) for s in ways}) == 1
    grid = TileGrid(*ways[0].shape, 128, 32, 2, margin=32)
    assert len({chunk_fingerprint(s, "sha", grid, ()) for s in ways}) == 1


def test_same_scene_is_the_same_inputs_or_the_same_input_path() -> None:
    """What the other-scene guard of classify asks (geoseg.run.classify.check_outputs)."""
    summary = make_summary()  # source "/s", source_id "id"
    assert summary.same_scene("id", "/elsewhere")  # the same files, reached another way
    assert summary.same_scene("new", "/s")  # other masks, or the file rewritten in place
    assert not summary.same_scene("new", "/elsewhere")  # another scene of the same name
