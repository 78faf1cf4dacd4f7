"""How the CLI tests run a command and check a clean failure (imported by the test modules)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner, Result

from geoseg.cli.app import app

runner = CliRunner()


def invoke(*args: str, catch: bool = False) -> Result:
    """``geoseg ARGS``; exceptions other than the CLI's own exits propagate unless ``catch``."""
    return runner.invoke(app, list(args), catch_exceptions=catch)


def assert_clean_failure(res: Result, message: str, out: Path | None = None) -> None:
    """Exit 2, one ``geoseg: error:`` line matching ``message``, no traceback, and nothing left
    in ``out`` (no outputs, no hidden staging folders)."""
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("geoseg: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in res.output
    if out is not None:
        assert not out.exists() or list(out.iterdir()) == []


def class_raster(path: Path, data: np.ndarray, names: tuple[str, ...] = ("a", "b")) -> Path:
    """A class raster as ``geoseg classify`` writes one: uint8, nodata 255, class names in tags."""
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1}
    profile |= {"dtype": "uint8", "nodata": 255, "crs": "EPSG:32631"}
    with rasterio.open(
        path, "w", transform=from_origin(600_000, 5_600_000, 10, 10), **profile
    ) as ds:
        ds.write(data.astype(np.uint8), 1)
        ds.update_tags(GEOSEG_CLASSES=json.dumps(dict(enumerate(names))))
    return path


@pytest.fixture
def classes_tif(tmp_path: Path) -> Path:
    """40 x 40 px at 10 m: class a on the top half (8 ha), b on the bottom half (8 ha)."""
    data = np.zeros((40, 40), dtype=np.uint8)
    data[20:] = 1
    return class_raster(tmp_path / "scene_classes.tif", data)
