"""``geoseg:classify``: one Sentinel-2 scene to a class raster, a confidence raster, land-cover
polygons and the class-area table (``geoseg classify``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

from . import runner
from .base import OUTPUT_FOLDER, Context, Feedback, GeosegAlgorithm, Params, extra_args, number

SCENE = "SCENE"
SCENE_FOLDER = "SCENE_FOLDER"
MODEL = "MODEL"
SIMPLIFY = "SIMPLIFY"
VECTORIZE = "VECTORIZE"
CONFIDENCE = "CONFIDENCE"
PROBABILITIES = "PROBABILITIES"
AOI = "AOI"
TILE_SIZE = "TILE_SIZE"
TTA = "TTA"
DEVICE = "DEVICE"
OVERWRITE = "OVERWRITE"
EXTRA = "EXTRA_OPTIONS"

CLASSES = "CLASSES"
CONFIDENCE_RASTER = "CONFIDENCE_RASTER"
PROBABILITIES_RASTER = "PROBABILITIES_RASTER"
POLYGONS = "POLYGONS"
STATS = "STATS"

DEVICES = ["auto", "cpu", "cuda"]
#: the outputs by the end of their file name (geoseg's run/paths.py)
SUFFIXES = {
    CLASSES: "_classes.tif",
    CONFIDENCE_RASTER: "_confidence.tif",
    PROBABILITIES_RASTER: "_probabilities.tif",
    POLYGONS: ".gpkg",
    STATS: "_stats.csv",
}
SCENE_FILTER = "Sentinel-2 scenes (*.tif *.tiff *.vrt *.zip *.json *.xml *.jp2);;All files (*.*)"


def _advanced(param: QgsProcessingParameterDefinition) -> QgsProcessingParameterDefinition:
    param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


def find_outputs(listed: list[str], folder: Path) -> dict[str, Path]:
    """Each output's path: from the ``Outputs:`` list geoseg printed, else the newest file of the
    folder with that ending."""
    found: dict[str, Path] = {}
    for key, suffix in SUFFIXES.items():
        hits = [Path(p) for p in listed if p.endswith(suffix)]
        if key == POLYGONS:  # not change.gpkg or a zonal output from an earlier run
            hits = [p for p in hits if not p.name.startswith("change")]
        if not hits and folder.is_dir():
            hits = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime)[-1:]
        if hits and hits[-1].is_file():
            found[key] = hits[-1]
    return found


class ClassifyAlgorithm(GeosegAlgorithm):
    """``geoseg classify`` on one scene."""

    ID = "classify"
    TITLE = "Classify a Sentinel-2 scene (land cover)"
    HELP = (
        "Classifies one Sentinel-2 scene into land-cover classes (water, trees, grass, "
        "flooded vegetation, crops, shrub and scrub, built, bare, snow and ice with the "
        "shipped model) with geoseg.\n\n"
        "Scene: a multi-band GeoTIFF, a .zip product or a STAC item (.json); or, instead, a "
        "scene folder: band GeoTIFFs (B10m.tif, B20m.tif…) or a .SAFE product.\n\n"
        "Writes into the output folder <scene>_classes.tif (class ids, named and coloured), "
        "<scene>_confidence.tif (percent), <scene>.gpkg (polygons of at least the minimum "
        "area, with the class-area table), <scene>_stats.csv, and their QGIS styles. "
        "Minimum area is in hectares; simplification in metres. Other geoseg classify "
        "options (--offset, --bands, --mask, --bbox…) go in 'Other geoseg options'.\n\n"
        "Runs the geoseg executable set in Settings ▸ Options ▸ Processing ▸ Providers ▸ "
        "geoseg, or the one found."
    )

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """The dialog, top to bottom: the scene and what to write, the advanced options, the
        output folder; then the outputs."""
        self._add_inputs()
        self._add_advanced()
        self.add_output_folder_parameters()
        self.addOutput(QgsProcessingOutputRasterLayer(CLASSES, "Land-cover classes"))
        self.addOutput(QgsProcessingOutputRasterLayer(CONFIDENCE_RASTER, "Confidence (%)"))
        self.addOutput(QgsProcessingOutputRasterLayer(PROBABILITIES_RASTER, "Probabilities (%)"))
        self.addOutput(QgsProcessingOutputVectorLayer(POLYGONS, "Land-cover polygons"))
        self.addOutput(QgsProcessingOutputFile(STATS, "Class areas (CSV)"))

    def _add_inputs(self) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                SCENE,
                "Scene (multi-band GeoTIFF, .zip product, STAC item .json)",
                behavior=QgsProcessingParameterFile.File,
                fileFilter=SCENE_FILTER,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                SCENE_FOLDER,
                "…or scene folder (band GeoTIFFs, .SAFE product)",
                behavior=QgsProcessingParameterFile.Folder,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                MODEL,
                "Model bundle folder (empty: the shipped model)",
                behavior=QgsProcessingParameterFile.Folder,
                optional=True,
            )
        )
        self.add_min_area_parameter("Minimum polygon area (ha)", 0.05)
        self.addParameter(
            QgsProcessingParameterNumber(
                SIMPLIFY,
                "Polygon simplification tolerance (m)",
                type=QgsProcessingParameterNumber.Double,
                defaultValue=0.0,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(VECTORIZE, "Write polygons", defaultValue=True)
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                CONFIDENCE, "Write the confidence raster", defaultValue=True
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                PROBABILITIES,
                "Write class probabilities (one band per class)",
                defaultValue=False,
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                AOI,
                "Area of interest (outside its polygons is left out)",
                types=[QgsProcessing.TypeVectorPolygon],
                optional=True,
            )
        )

    def _add_advanced(self) -> None:
        self.addParameter(
            _advanced(
                QgsProcessingParameterNumber(
                    TILE_SIZE,
                    "Tile size in pixels (empty: the model's)",
                    type=QgsProcessingParameterNumber.Integer,
                    minValue=32,
                    optional=True,
                )
            )
        )
        self.addParameter(
            _advanced(
                QgsProcessingParameterBoolean(
                    TTA, "Test-time augmentation (8 × slower)", defaultValue=False
                )
            )
        )
        self.addParameter(
            _advanced(QgsProcessingParameterEnum(DEVICE, "Device", DEVICES, defaultValue=0))
        )
        self.addParameter(
            _advanced(
                QgsProcessingParameterBoolean(
                    OVERWRITE,
                    "Replace another scene's outputs of the same name",
                    defaultValue=False,
                )
            )
        )
        self.addParameter(
            _advanced(
                QgsProcessingParameterString(
                    EXTRA,
                    "Other geoseg options (e.g. --offset -1000 --bands B02=1,B03=2,B04=3,B08=4)",
                    optional=True,
                )
            )
        )

    def checkParameterValues(
        self, parameters: dict[str, Any], context: QgsProcessingContext
    ) -> tuple[bool, str]:
        scene = self.parameterAsFile(parameters, SCENE, context)
        folder = self.parameterAsFile(parameters, SCENE_FOLDER, context)
        if bool(scene) == bool(folder):
            return False, "Give either a scene file or a scene folder (one of the two)."
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        scene = self.parameterAsFile(parameters, SCENE, context) or self.parameterAsFile(
            parameters, SCENE_FOLDER, context
        )
        if not scene:
            raise QgsProcessingException("no scene: give a scene file or a scene folder")
        out = self.output_folder(parameters, context)
        args = ["classify", scene, "--out-dir", str(out), *self.min_area_args(parameters, context)]
        args += ["--simplify", number(self.parameterAsDouble(parameters, SIMPLIFY, context))]
        model = self.parameterAsFile(parameters, MODEL, context)
        if model:
            args += ["--model", model]
        flags = {
            VECTORIZE: "vectorize",
            CONFIDENCE: "confidence",
            PROBABILITIES: "probabilities",
            TTA: "tta",
            OVERWRITE: "overwrite",
        }
        for key, flag in flags.items():
            on = self.parameterAsBoolean(parameters, key, context)
            args.append(f"--{flag}" if on else f"--no-{flag}")
        if parameters.get(TILE_SIZE) not in (None, ""):
            tile = self.parameterAsInt(parameters, TILE_SIZE, context)
            if tile > 0:
                args += ["--tile-size", str(tile)]
        args += ["--device", DEVICES[self.parameterAsEnum(parameters, DEVICE, context)]]
        if parameters.get(AOI) not in (None, ""):
            path, layer = self.parameterAsCompatibleSourceLayerPathAndLayerName(
                parameters, AOI, context, ["gpkg", "shp", "geojson"], "gpkg", feedback
            )
            if layer:  # geoseg reads a file's first layer: give it this one alone
                path = self._single_layer(parameters, context, feedback, path, layer)
            args += ["--aoi", path]
        args += extra_args(self.parameterAsString(parameters, EXTRA, context))

        result = self.run_geoseg(args, feedback)
        found = find_outputs(runner.output_paths(result.lines), out)
        if CLASSES not in found:
            raise QgsProcessingException(f"geoseg wrote no class raster in {out}")
        results: dict[str, Any] = {OUTPUT_FOLDER: str(out)}
        results.update({key: str(path) for key, path in found.items()})
        stem = found[CLASSES].name.removesuffix(SUFFIXES[CLASSES])
        names = {
            CONFIDENCE_RASTER: (f"{stem} confidence", True),
            POLYGONS: (f"{stem} land cover polygons", False),
            CLASSES: (f"{stem} land cover", True),
        }
        for key, (name, raster) in names.items():  # opened in this order: classes on top
            if key not in found:
                continue
            path = found[key]
            if raster:
                self.load(context, parameters, str(path), name, key, True, path.with_suffix(".qml"))
            else:
                uri = f"{path}|layername=landcover"
                self.load(context, parameters, uri, name, key, False)
        return results

    def _single_layer(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        path: str,
        layer: str,
    ) -> str:
        """A GeoPackage of only ``layer`` when ``path`` holds several (geoseg reads the first)."""
        from qgis.core import QgsVectorLayer

        probe = QgsVectorLayer(path, "probe", "ogr")
        if probe.isValid() and len(probe.dataProvider().subLayers()) <= 1:
            return path
        exported: str = self.parameterAsCompatibleSourceLayerPath(
            parameters, AOI, context, ["geojson"], "geojson", feedback
        )
        return exported
