"""The wheel holds what an installation needs: the default model bundle, the QGIS plugin (inside
the ``geoseg`` package, not as a generic top-level ``qgis_plugin``), the style writers and the
type marker; and nothing at the top level but ``geoseg`` (``flows/`` is repository code: README,
"Scheduled Prefect deployments")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> set[str]:
    """The files under ``folder`` as wheel paths (``geoseg/…``), caches left out."""
    return {
        p.relative_to(REPO).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """A wheel built from a copy of the sources (the build leaves nothing in the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "geoseg", src / "geoseg", ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*cmd, "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True)
    (built,) = (tmp / "dist").glob("geoseg-*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.slow
def test_the_wheel_holds_the_model_the_plugin_and_the_styles(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    bundle = _files(REPO / "geoseg" / "models" / "default")
    assert {"geoseg/models/default/bundle.json"} <= bundle <= names, bundle - names
    plugin = _files(REPO / "geoseg" / "qgis_plugin")
    assert {"geoseg/qgis_plugin/metadata.txt", "geoseg/qgis_plugin/icon.svg"} <= plugin <= names
    assert {"geoseg/io/styles.py", "geoseg/py.typed"} <= names  # the QGIS styles, typing
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"geoseg"}, top
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "geoseg = geoseg.cli:main" in wheel.read(entry_points).decode()
