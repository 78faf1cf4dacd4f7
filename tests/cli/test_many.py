"""``geoseg classify A B …``: each scene into its own subfolder, failures reported and skipped,
an exit code that says whether all succeeded, a summary table."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoseg.cli.many import expand, subfolders
from geoseg.errors import InputError
from tests.cli.conftest import invoke
from tests.conftest import NORCIA, NORCIA_LABELLED


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
