"""ReadOptions: the read options of open_scene, declared once and validated with one line."""

from pathlib import Path
from typing import Any

import pytest

from geoseg.errors import OptionError
from geoseg.io.read_options import ReadOptions


def test_build_merges_a_model_a_mapping_and_keywords() -> None:
    base = ReadOptions.build({"nodata": 0, "scl_classes": "3,8"})
    assert base.kwargs() == {"nodata": 0.0, "scl_classes": (3, 8), "cloud_mask": "auto"}
    merged = ReadOptions.build(base, scale=2e-4, nodata=None)
    assert merged.kwargs() == {
        "nodata": 0.0,
        "scale": 2e-4,
        "scl_classes": (3, 8),
        "cloud_mask": "auto",
    }
    assert ReadOptions.build(None).kwargs() == {"cloud_mask": "auto"}


def test_paths_and_band_mappings_as_open_scene_takes_them() -> None:
    opts = ReadOptions.build(mask=Path("/m.tif"), bands={"B02": (None, 1)})
    assert opts.kwargs()["mask"] == "/m.tif"
    assert opts.kwargs()["bands"] == {"B02": (None, 1)}


def test_keep_is_a_path_and_a_keyword_of_open_scene() -> None:
    opts = ReadOptions.build(keep=Path("/fields.tif"), mask="/clouds.tif")
    assert opts.keep == "/fields.tif"
    assert opts.kwargs() == {"mask": "/clouds.tif", "cloud_mask": "auto", "keep": "/fields.tif"}


@pytest.mark.parametrize(
    ("values", "flag"),
    [
        ({"scale": 0}, "--scale"),
        ({"scale": float("inf")}, "--scale"),
        ({"nodata": float("nan")}, "--nodata"),
        ({"offset": "x"}, "--offset"),
        ({"scl_classes": "3,x"}, "--scl-classes"),
        ({"clouds": True}, "--clouds"),
    ],
)
def test_bad_values_fail_with_one_line(values: dict[str, Any], flag: str) -> None:
    with pytest.raises(OptionError) as err:
        ReadOptions.build(values)
    assert flag in str(err.value) and "\n" not in str(err.value)
