"""Run by QGIS's own Python (not the project's venv), headless: load the installed plugin, run its
algorithms on real crops, and write what was seen as JSON for the pytest side to check.

    QT_QPA_PLATFORM=offscreen python3 qgis_checks.py CONFIG.json REPORT.json

CONFIG: plugins (the folder holding geoseg_processing), work (a scratch folder), scene_2017 and
scene_2015 (scene folders), fields (a polygon file), steps (which checks to run). Each check's
result (or its error) goes into the report on its own, so one failure does not hide the others.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsGeometry,
    QgsMapLayer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)


class Recorder(QgsProcessingFeedback):
    """Keeps the progress values, texts and log lines an algorithm reports."""

    def __init__(self, cancel_on_progress: bool = False) -> None:
        super().__init__()
        self.progress: list[float] = []
        self.texts: list[str] = []
        self.log: list[str] = []
        self.cancel_on_progress = cancel_on_progress
        self.canceled_at: float | None = None
        self.progressChanged.connect(self.progress.append)

    def setProgressText(self, text: str) -> None:
        self.texts.append(text)
        if self.cancel_on_progress and not self.isCanceled():
            self.canceled_at = time.monotonic()
            self.cancel()
        super().setProgressText(text)

    def pushInfo(self, info: str) -> None:
        self.log.append(info)

    def pushConsoleInfo(self, info: str) -> None:
        self.log.append(info)

    def pushCommandInfo(self, info: str) -> None:
        self.log.append("$ " + info)

    def reportError(self, error: str, fatalError: bool = False) -> None:
        self.log.append("ERROR " + error)


def describe(layer: QgsMapLayer) -> dict[str, Any]:
    """What a loaded layer looks like: validity, renderer, legend labels and colours."""
    info: dict[str, Any] = {"name": layer.name(), "valid": layer.isValid()}
    info["source"] = layer.source()
    renderer = layer.renderer()
    info["renderer"] = renderer.type() if renderer else None
    if isinstance(layer, QgsRasterLayer):
        info["kind"] = "raster"
        if renderer is not None and renderer.type() == "paletted":
            info["classes"] = {str(c.value): [c.label, c.color.name()] for c in renderer.classes()}
        elif renderer is not None and renderer.type() == "singlebandpseudocolor":
            shader = renderer.shader().rasterShaderFunction()
            info["ramp"] = [[i.value, i.color.name()] for i in shader.colorRampItemList()]
    elif isinstance(layer, QgsVectorLayer):
        info["kind"] = "vector"
        info["features"] = layer.featureCount()
        info["fields"] = [f.name() for f in layer.fields()]
        if renderer is not None and renderer.type() == "categorizedSymbol":
            info["categories"] = {
                str(c.value()): [c.label(), c.symbol().color().name()]
                for c in renderer.categories()
            }
    return info


def run_and_load(
    alg_id: str, params: dict[str, Any], feedback: Recorder
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """Run an algorithm as the toolbox does, then load its outputs into the project as the
    toolbox's post-processing does; the results and the layers it added."""
    import processing
    from processing.gui.Postprocessing import handleAlgorithmResults

    project = QgsProject.instance()
    before = set(project.mapLayers())
    context = QgsProcessingContext()
    context.setProject(project)
    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    start = time.monotonic()
    results = processing.run(alg, params, feedback=feedback, context=context)
    seconds = time.monotonic() - start
    handleAlgorithmResults(alg, context, feedback, parameters=params)
    added = [describe(project.mapLayer(i)) for i in project.mapLayers() if i not in before]
    return {k: str(v) for k, v in results.items()}, added, seconds


def memory_fields(path: str) -> QgsVectorLayer:
    """The field polygons as an in-memory layer (as an analyst's digitised fields would be)."""
    source = QgsVectorLayer(path, "fields_src", "ogr")
    uri = f"Polygon?crs={source.crs().authid()}&field=name:string"
    layer = QgsVectorLayer(uri, "fields", "memory")
    feats = []
    for f in source.getFeatures():
        g = QgsFeature(layer.fields())
        g.setGeometry(QgsGeometry(f.geometry()))
        g.setAttribute("name", f["name"])
        feats.append(g)
    layer.dataProvider().addFeatures(feats)
    return layer


def main(config_path: str, report_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    report: dict[str, Any] = {"steps": {}}
    work = Path(config["work"])

    def save() -> None:
        Path(report_path).write_text(json.dumps(report, indent=1, default=str))

    app = QgsApplication([], False)
    app.initQgis()
    try:
        from qgis.core import Qgis

        report["qgis_version"] = Qgis.QGIS_VERSION
        sys.path.append(config.get("processing_plugins", "/usr/share/qgis/python/plugins"))
        from processing.core.Processing import Processing

        Processing.initialize()
        sys.path.insert(0, config["plugins"])
        import geoseg_processing

        plugin = geoseg_processing.classFactory(None)
        plugin.initProcessing()
        from geoseg_processing import provider as provider_module

        registry = QgsApplication.processingRegistry()
        prov = registry.providerById("geoseg")
        algorithms = prov.algorithms() if prov else []
        report["provider"] = {
            "registered": prov is not None,
            "algorithms": sorted(a.id() for a in algorithms),
            "plugin_file": geoseg_processing.__file__,
            "executable": provider_module.executable(),
            "batch": {a.id(): bool(a.flags() & a.FlagSupportsBatch) for a in algorithms},
            "can_cancel": {a.id(): bool(a.flags() & a.FlagCanCancel) for a in algorithms},
            "parameters": {
                a.id(): {p.name(): p.type() for p in a.parameterDefinitions()} for a in algorithms
            },
        }
        save()
        steps = config["steps"]

        def step(name: str, fn: Any) -> None:
            if name not in steps:
                return
            try:
                report["steps"][name] = fn()
            except Exception as exc:
                report["steps"][name] = {
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(),
                }
            save()

        shared: dict[str, Any] = {}

        def classify() -> dict[str, Any]:
            fb = Recorder()
            params = {
                "SCENE_FOLDER": config["scene_2017"],
                "MIN_AREA": 0.5,
                "OUTPUT_FOLDER": str(work / "classify_2017"),
            }
            results, layers, seconds = run_and_load("geoseg:classify", params, fb)
            shared["classes_2017"] = results.get("CLASSES")
            return {
                "results": results,
                "layers": layers,
                "seconds": seconds,
                "progress": fb.progress,
                "texts": fb.texts,
                "log": fb.log,
            }

        def model() -> dict[str, Any]:
            """The graphical modeler's way: classify 2015, then change against the 2017 map."""
            static = QgsProcessingModelChildParameterSource.fromStaticValue
            m = QgsProcessingModelAlgorithm("classify and change", "geoseg tests")
            c = QgsProcessingModelChildAlgorithm("geoseg:classify")
            c.setChildId("classify_2015")
            c.addParameterSources("SCENE_FOLDER", [static(config["scene_2015"])])
            c.addParameterSources("MIN_AREA", [static(0.5)])
            c.addParameterSources("LOAD_OUTPUTS", [static(False)])
            c.addParameterSources("OUTPUT_FOLDER", [static(str(work / "classify_2015"))])
            m.addChildAlgorithm(c)
            ch = QgsProcessingModelChildAlgorithm("geoseg:change")
            ch.setChildId("change")
            ch.addParameterSources(
                "BEFORE",
                [
                    QgsProcessingModelChildParameterSource.fromChildOutput(
                        "classify_2015", "CLASSES"
                    )
                ],
            )
            ch.addParameterSources(
                "AFTER", [static(shared.get("classes_2017") or config["after_map"])]
            )
            ch.addParameterSources("MIN_AREA", [static(0.2)])
            ch.addParameterSources("OUTPUT_FOLDER", [static(str(work / "change"))])
            out = QgsProcessingModelOutput("change_raster")
            out.setChildId("change")
            out.setChildOutputName("CHANGE")
            ch.setModelOutputs({"change_raster": out})
            m.addChildAlgorithm(ch)
            m.updateDestinationParameters()
            model_file = work / "classify_and_change.model3"
            m.toFile(str(model_file))
            depends = m.dependsOnChildAlgorithms("change")
            report_model = {"dependencies_ok": "classify_2015" in depends}
            fb = Recorder()
            context = QgsProcessingContext()
            context.setProject(QgsProject.instance())
            start = time.monotonic()
            ok_params = m.checkParameterValues({}, context)
            results, ok = m.run({}, context, fb)
            classes_2015 = results.get("CHILD_RESULTS", {}).get("classify_2015", {}).get("CLASSES")
            shared["classes_2015"] = classes_2015
            report_model.update(
                {
                    "ok": ok,
                    "check": list(ok_params),
                    "results": {k: str(v) for k, v in results.items()},
                    "seconds": time.monotonic() - start,
                    "log": fb.log[-40:],
                    "model_file": str(model_file),
                }
            )
            return report_model

        def change() -> dict[str, Any]:
            fb = Recorder()
            params = {
                "BEFORE": config["before_map"],
                "AFTER": config["after_map"],
                "MIN_AREA": 0.5,
                "OUTPUT_FOLDER": str(work / "change_labels"),
            }
            results, layers, seconds = run_and_load("geoseg:change", params, fb)
            return {"results": results, "layers": layers, "seconds": seconds, "log": fb.log}

        def zonal() -> dict[str, Any]:
            fields = memory_fields(config["fields"])
            QgsProject.instance().addMapLayer(fields)
            fb = Recorder()
            params = {
                "FIELDS": fields,
                # geoseg's class maps of two dates and a scene (for NDVI) of the second
                "RASTERS": [
                    shared["classes_2015"],
                    shared["classes_2017"],
                    config["scene_2017_b10m"],
                ],
                "DATES": "2015-07-11, 2017-10-18, 2017-10-18",
                "INDICES": "NDVI",
                "ID_FIELD": "name",
                "OUTPUT": str(work / "zonal.gpkg"),
            }
            results, layers, seconds = run_and_load("geoseg:zonal", params, fb)
            rows = []
            table = QgsVectorLayer(results["TABLE"], "t", "ogr")
            for f in table.getFeatures():
                keys = ("name", "date", "share_trees", "majority_class", "NDVI_mean")
                row = {k: f[k] for k in keys}
                if hasattr(row["date"], "toString"):  # a QDate
                    row["date"] = row["date"].toString("yyyy-MM-dd")
                rows.append(row)
            return {
                "results": results,
                "layers": layers,
                "seconds": seconds,
                "rows": rows,
                "log": fb.log,
            }

        def task() -> dict[str, Any]:
            """As the toolbox dialog runs it: in a background task, Cancel from the main thread
            (here after 3 s, while geoseg starts or classifies)."""
            from qgis.core import QgsProcessingAlgRunnerTask

            alg = QgsApplication.processingRegistry().createAlgorithmById("geoseg:classify")
            context = QgsProcessingContext()
            context.setProject(QgsProject.instance())
            feedback = QgsProcessingFeedback()
            params = {"SCENE_FOLDER": config["scene_2017"], "OUTPUT_FOLDER": str(work / "task")}
            runner_task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)
            ended: dict[str, Any] = {}
            runner_task.executed.connect(lambda ok, results: ended.update(ok=ok))
            start = time.monotonic()
            QgsApplication.taskManager().addTask(runner_task)
            canceled_at = None
            while "ok" not in ended and time.monotonic() - start < 300:
                app.processEvents()
                time.sleep(0.02)
                if canceled_at is None and time.monotonic() - start > 3:
                    canceled_at = time.monotonic()
                    feedback.cancel()
            end = time.monotonic()
            folder = work / "task"
            left = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
            return {
                "ok": ended.get("ok"),
                "stop_s": end - canceled_at if canceled_at else None,
                "left": left,
            }

        def cancel() -> dict[str, Any]:
            fb = Recorder(cancel_on_progress=True)
            params = {
                "SCENE_FOLDER": config["scene_2017"],
                "OUTPUT_FOLDER": str(work / "canceled"),
            }
            start = time.monotonic()
            error = None
            try:
                import processing

                processing.run("geoseg:classify", params, feedback=fb)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            end = time.monotonic()
            folder = work / "canceled"
            left = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
            return {
                "error": error,
                "seconds": end - start,
                "stop_s": end - fb.canceled_at if fb.canceled_at else None,
                "texts": fb.texts,
                "canceled": fb.isCanceled(),
                "left": left,
                "log": fb.log,
            }

        def missing() -> dict[str, Any]:
            fb = Recorder()
            provider_module.set_configured_executable(config["fields"])  # a file, not geoseg
            error = None
            try:
                import processing

                params = {
                    "BEFORE": config["before_map"],
                    "AFTER": config["after_map"],
                    "OUTPUT_FOLDER": str(work / "never"),
                }
                processing.run("geoseg:change", params, feedback=fb)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            finally:
                provider_module.set_configured_executable("")
            return {"error": error}

        def bad_input() -> dict[str, Any]:
            fb = Recorder()
            error = None
            try:
                import processing

                processing.run(
                    "geoseg:classify",
                    {"SCENE": config["fields"], "OUTPUT_FOLDER": str(work / "bad")},
                    feedback=fb,
                )
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            return {"error": error, "log": fb.log}

        step("classify", classify)
        step("change", change)
        step("model", model)
        step("zonal", zonal)
        step("cancel", cancel)
        step("task", task)
        step("missing", missing)
        step("bad_input", bad_input)

        plugin.unload()
        report["unloaded"] = registry.providerById("geoseg") is None
    except Exception:
        report["fatal"] = traceback.format_exc()
    finally:
        save()
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
