"""The plugin in a real QGIS, headless: installed by ``geoseg qgis install`` into a scratch
profile, loaded by QGIS's own Python (``qgis_checks.py``), its algorithms run on real crops.

QGIS's Python is not this venv's: the checks run once, in a subprocess, and every test reads its
part of their JSON report. Skipped where no Python can import ``qgis`` (Debian/Ubuntu:
``apt-get install python3-qgis qgis-providers``; or set GEOSEG_QGIS_PYTHON to one that can).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from geoseg.cli.qgis import install_plugin
from tests.conftest import DATA, DW_CLASSES, NORCIA

HERE = Path(__file__).resolve().parent
BEFORE = DATA / "val" / "oscd_norcia_20150711"  # the sample scene's place, two years earlier
AFTER = DATA / "val" / "oscd_norcia_20171018"
#: every check together takes about a minute on one core; this is the limit
TIMEOUT_S = 600

pytestmark = pytest.mark.slow


@functools.cache
def qgis_python() -> str | None:
    """A Python that can import QGIS: $GEOSEG_QGIS_PYTHON, else the system's python3."""
    candidates = [os.environ.get("GEOSEG_QGIS_PYTHON"), "/usr/bin/python3", shutil.which("python3")]
    for python in filter(None, candidates):
        if Path(python).resolve() == Path(sys.executable).resolve():
            continue  # this venv's python has no QGIS
        try:
            done = subprocess.run(
                [python, "-c", "import qgis.core"],
                capture_output=True,
                timeout=120,
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return python
    return None


def _fields(path: Path) -> Path:
    """Three field polygons inside the Norcia crop (EPSG:32633)."""
    import geopandas as gpd
    from shapely.geometry import box

    boxes = [
        box(343000, 4738500, 344000, 4739500),
        box(344500, 4739000, 345500, 4740000),
        box(342500, 4740000, 343200, 4740800),
    ]
    gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=boxes, crs="EPSG:32633").to_file(path)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = qgis_python()
    if python is None:
        pytest.skip(
            "no Python with QGIS found: install QGIS's Python bindings (Debian/Ubuntu: "
            "apt-get install python3-qgis qgis-providers) or set GEOSEG_QGIS_PYTHON"
        )
    tmp = tmp_path_factory.mktemp("qgis")
    geoseg = Path(sys.executable).parent / ("geoseg.exe" if os.name == "nt" else "geoseg")
    plugin = install_plugin(tmp / "QGIS3", "default", executable=geoseg)
    work = tmp / "work"
    work.mkdir()
    # QGIS writes a .aux.xml (histograms) beside a raster it opens: a copy, not the repo's sample
    b10m = shutil.copy(NORCIA / "B10m.tif", tmp / "norcia_20171018_B10m.tif")
    config = {
        "plugins": str(plugin.parent),
        "work": str(work),
        "scene_2017": str(NORCIA),
        "scene_2017_b10m": str(b10m),
        "scene_2015": str(BEFORE),
        "before_map": str(BEFORE / "label.tif"),
        "after_map": str(AFTER / "label.tif"),
        "fields": str(_fields(tmp / "fields.gpkg")),
        "steps": ["classify", "change", "model", "zonal", "cancel", "task", "missing", "bad_input"],
    }
    (tmp / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    env.pop("GEOSEG_EXECUTABLE", None)  # the plugin must find geoseg by itself
    env["XDG_RUNTIME_DIR"] = str(tmp / "runtime")
    env["QGIS_CUSTOM_CONFIG_PATH"] = str(tmp / "QGIS3")  # its profiles/ holds the plugin
    done = subprocess.run(
        [python, str(HERE / "qgis_checks.py"), str(tmp / "config.json"), str(tmp / "report.json")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        check=False,
    )
    path = tmp / "report.json"
    assert path.is_file(), f"the QGIS checks wrote no report:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(path.read_text())
    assert "fatal" not in result, result["fatal"]
    return result


def step(report: dict[str, Any], name: str) -> dict[str, Any]:
    result: dict[str, Any] = report["steps"][name]
    assert "traceback" not in result, result["traceback"]
    return result


def layer(layers: list[dict[str, Any]], ending: str) -> dict[str, Any]:
    found = [x for x in layers if x["source"].endswith(ending)]
    assert len(found) == 1, [x["source"] for x in layers]
    return found[0]


def test_provider_registers_three_algorithms(report: dict[str, Any]) -> None:
    provider = report["provider"]
    assert provider["registered"]
    assert provider["algorithms"] == ["geoseg:change", "geoseg:classify", "geoseg:zonal"]
    assert "geoseg_processing" in provider["plugin_file"]  # the installed copy, not the source
    assert provider["executable"] == str(Path(sys.executable).parent / "geoseg")  # found
    assert all(provider["batch"].values()) and all(provider["can_cancel"].values())
    # only Processing's own parameter types: the modeler and batch mode know them all
    standard = {"file", "number", "boolean", "vector", "enum", "string", "raster", "multilayer"}
    standard |= {"field", "folderDestination", "fileDestination"}
    for params in provider["parameters"].values():
        assert set(params.values()) <= standard
    assert report["unloaded"]


def test_classify_outputs_open_named_and_coloured(report: dict[str, Any]) -> None:
    result = step(report, "classify")
    out = result["results"]
    for key in ("CLASSES", "CONFIDENCE_RASTER", "POLYGONS", "STATS"):
        assert Path(out[key]).is_file(), key
    layers = result["layers"]
    assert len(layers) == 3 and all(x["valid"] for x in layers)
    classes = layer(layers, "_classes.tif")
    assert classes["renderer"] == "paletted"
    assert [tuple(v) for v in classes["classes"].values()] == DW_CLASSES
    assert classes["name"] == "norcia_20171018 land cover"
    confidence = layer(layers, "_confidence.tif")
    assert confidence["renderer"] == "singlebandpseudocolor"
    assert confidence["ramp"][0] == [0.0, "#d7191c"] and confidence["ramp"][-1][0] == 100.0
    polygons = layer(layers, "|layername=landcover")
    assert polygons["renderer"] == "categorizedSymbol" and polygons["features"] > 20
    assert [tuple(v) for v in polygons["categories"].values()] == DW_CLASSES
    assert {"class_name", "area_ha", "confidence"} <= set(polygons["fields"])
    assert "--min-area 0.5" in result["log"][0]
    assert result["seconds"] < 120


def test_classify_streams_progress(report: dict[str, Any]) -> None:
    result = step(report, "classify")
    texts = result["texts"]
    phases = [t.split()[1] for t in texts if t.startswith("geoseg: ")]
    # one line each; the polygons are traced while the COGs are written: either may report first
    assert phases[0] == "classify" and sorted(phases[1:]) == ["vectorize", "write"], texts
    algorithm_part = result["progress"][: result["progress"].index(100.0) + 1]
    assert algorithm_part == sorted(algorithm_part) and 0 < algorithm_part[0] < 100
    assert not any("\x1b" in line for line in result["log"])  # terminal codes removed


def test_change_between_two_real_dates(report: dict[str, Any]) -> None:
    result = step(report, "change")
    out = result["results"]
    for key in ("CHANGE", "POLYGONS", "MATRIX", "MATRIX_JSON"):
        assert Path(out[key]).is_file(), key
    raster = layer(result["layers"], "change_classes.tif")
    assert raster["valid"] and raster["renderer"] == "paletted"
    labels = [label for label, _ in raster["classes"].values()]
    assert "trees → built" in labels
    polygons = layer(result["layers"], "|layername=change")
    assert polygons["valid"] and polygons["features"] > 0
    assert polygons["renderer"] == "categorizedSymbol"
    matrix = Path(out["MATRIX"]).read_text().splitlines()
    assert matrix[0].split(",")[1:] == [name for name, _ in DW_CLASSES]


def test_model_chains_classify_into_change(report: dict[str, Any]) -> None:
    result = step(report, "model")
    assert result["ok"] and result["dependencies_ok"], result["log"]
    assert Path(result["results"]["change:change_raster"]).is_file()
    assert Path(result["model_file"]).is_file()  # saved as the modeler saves it


def test_zonal_on_fields_from_memory(report: dict[str, Any]) -> None:
    result = step(report, "zonal")
    assert result["results"]["OUTPUT"].endswith("zonal.gpkg")
    table = layer(result["layers"], "|layername=zonal_stats")
    assert table["valid"] and table["features"] == 6  # 3 fields x 2 dates
    rows = result["rows"]
    assert sorted({r["name"] for r in rows}) == ["a", "b", "c"]
    assert sorted({str(r["date"])[:10] for r in rows}) == ["2015-07-11", "2017-10-18"]
    ndvi = [r["NDVI_mean"] for r in rows if str(r["date"]).startswith("2017")]
    assert all(0 < float(v) < 1 for v in ndvi)


def test_cancel_stops_the_run(report: dict[str, Any]) -> None:
    result = step(report, "cancel")
    assert result["canceled"]
    assert "canceled" in result["error"]
    assert result["texts"] == ["geoseg: classify"]  # it stopped there
    assert result["stop_s"] < 10  # from Cancel to the algorithm's end
    # geoseg's own line is said once, in the error QGIS reports, not echoed to the log as well
    assert "geoseg: terminated:" in result["error"]
    assert not any(line.startswith("geoseg: terminated:") for line in result["log"])
    # nothing at the output paths; only the hidden store of finished chunks, for a rerun
    assert all(name.startswith(".geoseg-chunks-") for name in result["left"]), result["left"]


def test_cancel_from_the_main_thread_stops_a_background_run(report: dict[str, Any]) -> None:
    """The toolbox dialog's way: the algorithm in a QgsTask, Cancel pressed meanwhile."""
    result = step(report, "task")
    assert result["ok"] is False and result["stop_s"] < 10
    assert not any(name.endswith("_classes.tif") for name in result["left"]), result["left"]


def test_errors_are_one_clean_message(report: dict[str, Any]) -> None:
    missing = step(report, "missing")["error"]
    assert missing is not None and "not an executable file" in missing
    bad = step(report, "bad_input")["error"]
    assert bad is not None and "geoseg: error: not a readable raster" in bad
    log = step(report, "bad_input")["log"]  # the error is raised, not echoed to the log too
    assert sum("not a readable raster" in line for line in log) <= 1, log


def qgis_process() -> str | None:
    """QGIS's command-line runner (Debian: package qgis). Debian's ``qgis_process`` wrapper adds
    ``--noversioncheck``, which qgis_process 3.22 refuses: its ``.bin`` is run where it exists."""
    found = shutil.which("qgis_process")
    if found and Path(found + ".bin").is_file():
        return found + ".bin"
    return found


def test_qgis_process_runs_change_headless(tmp_path: Path) -> None:
    """The batch way without the GUI: qgis_process enables the plugin and runs geoseg:change."""
    exe = qgis_process()
    if exe is None:
        pytest.skip("no qgis_process (Debian/Ubuntu: apt-get install qgis)")
    geoseg = Path(sys.executable).parent / ("geoseg.exe" if os.name == "nt" else "geoseg")
    install_plugin(tmp_path / "config", "default", executable=geoseg)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    env |= {"QGIS_CUSTOM_CONFIG_PATH": str(tmp_path / "config")}
    env |= {"XDG_RUNTIME_DIR": str(tmp_path / "runtime")}
    # QGIS's embedded Python takes its home from the first python3 on PATH: a pyenv or venv
    # python there hides the system one QGIS was built with (its qgis module, SIP: a crash)
    env["PATH"] = os.pathsep.join([str(Path(exe).parent), env.get("PATH", "")])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *args], capture_output=True, text=True, env=env, timeout=300, check=False
        )

    done = run("plugins", "enable", "geoseg_processing")
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "change"
    done = run(
        "--json",
        "run",
        "geoseg:change",
        "--",
        f"BEFORE={BEFORE / 'label.tif'}",
        f"AFTER={AFTER / 'label.tif'}",
        "MIN_AREA=0.5",
        f"OUTPUT_FOLDER={out}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout[done.stdout.index("{") :])["results"]
    assert results["CHANGE"] == str(out / "change_classes.tif")
    assert Path(results["MATRIX"]).is_file() and Path(results["POLYGONS"]).is_file()
