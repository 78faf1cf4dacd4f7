"""``geoseg classify A B …``: each scene into its own subfolder, failures reported and skipped,
an exit code that says whether all succeeded, a summary table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from rasterio.windows import Window

from geoseg.cli.many import Outcome, _summary, current_outputs, expand, run_many, subfolders
from geoseg.errors import InputError
from geoseg.io.read_options import ReadOptions
from geoseg.run.classify import classify
from geoseg.run.identity import ClassArea, RunSummary
from geoseg.run.options import Options
from geoseg.run.results import ClassifyResult
from tests.cli.conftest import invoke
from tests.conftest import DATA, NORCIA, NORCIA_LABELLED, write_stack


def test_patterns_and_product_folders_expand(tmp_path: Path) -> None:
    products = tmp_path / "products"
    (products / "b.SAFE").mkdir(parents=True)
    (products / "a.zip").write_text("x")
    (products / "notes.txt").write_text("x")
    assert expand([str(products)]) == [str(products / "a.zip"), str(products / "b.SAFE")]
    assert expand([str(products / "*.zip"), "https://x/item.json"]) == [
        str(products / "a.zip"),
        "https://x/item.json",
    ]
    assert expand([str(NORCIA)]) == [str(NORCIA)]  # a folder of band files is one scene
    with pytest.raises(InputError, match="no file matches"):
        expand([str(tmp_path / "*.tif")])


def test_a_folder_of_scene_folders_is_a_batch(tmp_path: Path) -> None:
    """``geoseg classify scenes/`` where ``scenes/`` holds crop folders of band GeoTIFFs."""
    val = DATA / "val"
    crops = sorted(p for p in val.iterdir() if p.is_dir())
    assert len(crops) > 1 and expand([str(val)]) == [str(p) for p in crops]
    mixed = tmp_path / "mixed"
    (mixed / "notes").mkdir(parents=True)  # a folder without rasters is no scene
    (mixed / "crop").mkdir()
    (mixed / "crop" / "B10m.tif").write_bytes(b"")
    assert expand([str(mixed)]) == [str(mixed / "crop")]
    assert expand([str(NORCIA)]) == [str(NORCIA)]  # holds rasters itself: one scene


def test_batch_table_keeps_full_names_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """A cron log (no terminal, 80 columns) gets whole names, not ``oscd_milano_2…`` twice."""
    names = [f"oscd_milano_20{y}0816_S2A_MSIL1C_N0204_R065_T32TNR_long_name" for y in (15, 18)]
    _summary([Outcome(n, Path("out") / n, 1.0, error="scene not found") for n in names])
    printed = capsys.readouterr().out
    assert all(n in printed for n in names), printed
    assert "…" not in printed


def test_subfolders_are_named_after_the_scenes() -> None:
    names = [
        p.name for p in subfolders(["x/a.SAFE", "y/a.zip", "b.tif", "s3://k/c.json"], Path("o"))
    ]
    assert names == ["a", "a-2", "b", "c"]


@pytest.mark.slow
def test_several_scenes_one_failing(bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    scenes = [str(NORCIA), str(tmp_path / "missing.tif"), str(NORCIA_LABELLED)]
    res = invoke("classify", *scenes, "-o", str(out), "--model", str(bundle_dir), "--no-vectorize")
    assert res.exit_code == 2, res.output  # not all succeeded
    assert "scene not found" in res.stderr and "Traceback" not in res.output
    assert "2 of 3 scenes classified." in res.stdout
    for folder in (NORCIA.name, NORCIA_LABELLED.name):
        assert (out / folder / f"{folder}_classes.tif").is_file()
    assert not (out / "missing").exists()

    again = invoke("classify", str(NORCIA), str(NORCIA_LABELLED), "-o", str(out / "ok"),
                   "--model", str(bundle_dir), "--no-vectorize")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "2 of 2 scenes classified." in again.stdout


def _result(folder: Path) -> ClassifyResult:
    stats = pd.DataFrame({"class_name": ["trees", "crops"], "share_pct": [70.0, 30.0]})
    tif = folder / "x_classes.tif"
    return ClassifyResult(folder, tif, None, None, tif, tif, tif, None, stats, 90, 100)


def test_ctrl_c_keeps_the_finished_scenes_and_prints_the_table_so_far(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in the second of three scenes: the first is listed as done, the second as
    interrupted, the third as not run; one line says which; exit 130."""

    def run_one(scene: str, folder: Path) -> ClassifyResult:
        if scene == "b.tif":
            raise KeyboardInterrupt
        return _result(folder)

    with pytest.raises(typer.Exit) as stop:
        run_many(["a.tif", "b.tif", "c.tif"], tmp_path, run_one)
    assert stop.value.exit_code == 130
    printed = capsys.readouterr()
    rows = {line.split()[1]: line for line in printed.out.splitlines() if ".tif" in line}
    assert "ok" in rows["a.tif"] and "trees 70.0 %" in rows["a.tif"], printed.out
    assert "interrupted" in rows["b.tif"] and "not run" in rows["c.tif"]
    assert "1 of 3 scenes classified." in printed.out
    last = printed.err.strip().splitlines()[-1]
    assert last.startswith("geoseg: interrupted: during scene 2/3 (b.tif): nothing of it"), last
    assert "outputs of the 1 finished scene(s) are kept; a rerun recomputes every scene" in last


def test_a_rerun_skips_scenes_whose_outputs_are_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = RunSummary.model_construct(
        valid_pixels=50, width=10, height=10, classes=[ClassArea.model_construct(
            class_name="water", share_pct=100.0)],
    )  # fmt: skip
    ran: list[str] = []

    def run_one(scene: str, folder: Path) -> ClassifyResult:
        ran.append(scene)
        return _result(folder)

    run_many(["a.tif", "b.tif"], tmp_path, run_one, lambda s, f: kept if s == "a.tif" else None)
    assert ran == ["b.tif"]
    printed = capsys.readouterr()
    assert "outputs in" in printed.err and "are current" in printed.err
    row = next(line for line in printed.out.splitlines() if "a.tif" in line)
    assert "current" in row and "50.0" in row and "water 100.0 %" in row
    assert "2 of 2 scenes classified (1 current from an earlier run, not recomputed)." in (
        printed.out
    )


def test_outputs_are_current_only_for_the_same_options(bundle_dir: Path, tmp_path: Path) -> None:
    """The batch's done-check is the catalogue's: same inputs, model and result options, every
    output there; options it cannot check (how bands are read) always rerun."""
    scene = str(write_stack(NORCIA, tmp_path / "a.tif", window=Window(0, 0, 64, 64)))
    folder, read = tmp_path / "out", ReadOptions.build({"cloud_mask": "none"})
    options = Options(tile_size=64, overlap=16, vectorize=False)
    assert current_outputs(scene, folder, bundle_dir, options, read) is None
    classify(scene, folder, model=bundle_dir, options=options, read=read)
    assert current_outputs(scene, folder, bundle_dir, options, read) is not None
    other = Options(tile_size=64, overlap=16, vectorize=False, min_area_ha=1.0)
    assert current_outputs(scene, folder, bundle_dir, other, read) is None
    offset = ReadOptions.build(read, offset=-1000)
    assert current_outputs(scene, folder, bundle_dir, options, offset) is None
    (folder / "a_confidence.tif").unlink()
    assert current_outputs(scene, folder, bundle_dir, options, read) is None
    assert current_outputs(str(tmp_path / "missing.tif"), folder, bundle_dir, options, read) is None
