"""``geoseg qgis install`` and ``geoseg qgis path``: the plugin copied (or linked) into a QGIS
profile, with the geoseg it runs recorded. QGIS itself is not needed (tests/qgis_plugin loads
the installed plugin in a real QGIS)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from geoseg.cli.qgis import INSTALL_RECORD, PLUGIN_NAME, default_qgis_dir, plugin_source
from tests.cli.conftest import assert_clean_failure, invoke

REPO = Path(__file__).resolve().parents[2]
PLUGIN_FILES = {"__init__.py", "metadata.txt", "provider.py", "runner.py", "classify.py"}
PLUGIN_FILES |= {"change.py", "zonal.py", "base.py", "plugin.py", "icon.svg"}


def test_path_prints_the_plugin_source() -> None:
    res = invoke("qgis", "path")
    assert res.exit_code == 0, res.output
    assert Path(res.stdout.strip()) == REPO / "geoseg" / "qgis_plugin" == plugin_source()
    metadata = (plugin_source() / "metadata.txt").read_text()
    assert "hasProcessingProvider=yes" in metadata and "name=geoseg" in metadata


def test_install_copies_the_plugin_and_records_geoseg(tmp_path: Path) -> None:
    res = invoke("qgis", "install", "--qgis-dir", str(tmp_path))
    assert res.exit_code == 0, res.output
    dest = tmp_path / "profiles" / "default" / "python" / "plugins" / PLUGIN_NAME
    assert {p.name for p in dest.iterdir()} >= PLUGIN_FILES
    assert not dest.is_symlink() and not (dest / "__pycache__").exists()
    recorded = Path((dest / INSTALL_RECORD).read_text().strip())
    assert recorded == Path(sys.executable).parent / "geoseg"
    assert f"Installed the geoseg QGIS plugin: {dest}" in res.stdout
    assert "tick 'geoseg'" in res.stdout and f"It runs: {recorded}" in res.stdout
    # qgis_process loads only enabled plugins: "algorithm not found" until this
    enable = f"QGIS_CUSTOM_CONFIG_PATH={tmp_path} qgis_process plugins enable {PLUGIN_NAME}"
    assert f"Headless (qgis_process), enable it once:\n  {enable}\n" in res.stdout
    # again, into another profile, over an older copy: replaced, not merged
    (dest / "stale.py").write_text("")
    res = invoke("qgis", "install", "--qgis-dir", str(tmp_path))
    assert res.exit_code == 0 and not (dest / "stale.py").exists()
    res = invoke("qgis", "install", "--qgis-dir", str(tmp_path), "--profile", "work")
    assert res.exit_code == 0
    assert "(qgis_process, which reads the 'default' profile, not 'work')" in res.stdout
    assert (tmp_path / "profiles" / "work" / "python" / "plugins" / PLUGIN_NAME).is_dir()


def test_install_link_and_executable(tmp_path: Path) -> None:
    exe = tmp_path / "my-geoseg"
    res = invoke("qgis", "install", "--qgis-dir", str(tmp_path), "--executable", str(exe))
    dest = tmp_path / "profiles" / "default" / "python" / "plugins" / PLUGIN_NAME
    assert res.exit_code == 0 and (dest / INSTALL_RECORD).read_text().strip() == str(exe)
    res = invoke("qgis", "install", "--qgis-dir", str(tmp_path), "--link")
    assert res.exit_code == 0, res.output
    assert dest.is_symlink() and dest.resolve() == plugin_source().resolve()
    assert not (plugin_source() / INSTALL_RECORD).exists()  # nothing written into the source


def test_default_qgis_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QGIS_CUSTOM_CONFIG_PATH", str(tmp_path))
    assert default_qgis_dir() == tmp_path  # QGIS: $QGIS_CUSTOM_CONFIG_PATH/profiles/<name>
    monkeypatch.delenv("QGIS_CUSTOM_CONFIG_PATH")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if sys.platform.startswith("linux"):
        assert default_qgis_dir() == tmp_path / "data" / "QGIS" / "QGIS3"


def test_unwritable_target_is_one_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = invoke("qgis", "install", "--qgis-dir", str(blocker))
    assert_clean_failure(res, r"cannot install the QGIS plugin \(.*\): check the folder")


def test_help_lists_the_commands() -> None:
    res = invoke("--help")
    assert "qgis" in res.stdout
    res = invoke("qgis", "--help")
    assert res.exit_code == 0 and "install" in res.stdout and "path" in res.stdout
