"""``geoseg:change``: what became what between two class maps of one place (``geoseg change``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from .base import GeosegAlgorithm, number

BEFORE = "BEFORE"
AFTER = "AFTER"
MIN_AREA = "MIN_AREA"
OUTPUT_FOLDER = "OUTPUT_FOLDER"

CHANGE = "CHANGE"
POLYGONS = "POLYGONS"
MATRIX = "MATRIX"
MATRIX_JSON = "MATRIX_JSON"

#: the fixed names geoseg change writes (geoseg/analysis/change.py)
FILES = {
    CHANGE: "change_classes.tif",
    POLYGONS: "change.gpkg",
    MATRIX: "change_matrix.csv",
    MATRIX_JSON: "change_matrix.json",
}
STYLE = "change_classes.qml"
LAYER = "change"


def raster_path(layer: Any) -> str:
    """The file behind a raster layer (GDAL's URI without options)."""
    return str(layer.source()).split("|")[0]


class ChangeAlgorithm(GeosegAlgorithm):
    """``geoseg change BEFORE AFTER``."""

    ID = "change"
    TITLE = "Land-cover change between two dates"
    HELP = (
        "From-to change between two class maps of one place (geoseg's *_classes.tif, e.g. "
        "the 'Land-cover classes' of two geoseg:classify runs, or Dynamic World label.tif "
        "files) with the same classes.\n\n"
        "Writes into the output folder change_classes.tif (value = before_id × n + "
        "after_id, named and coloured 'trees → built'…, on the before map's grid), "
        "change.gpkg (changed regions of at least the minimum area, in hectares), "
        "change_matrix.csv and .json (hectares, rows before, columns after). The raster and "
        "the matrix are exact; the minimum area only drops small polygons."
    )

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(BEFORE, "Class map, before"))
        self.addParameter(QgsProcessingParameterRasterLayer(AFTER, "Class map, after"))
        self.addParameter(
            QgsProcessingParameterNumber(
                MIN_AREA,
                "Minimum change polygon area (ha)",
                type=QgsProcessingParameterNumber.Double,
                defaultValue=0.0,
                minValue=0.0,
            )
        )
        self.add_load_parameter()
        self.addParameter(QgsProcessingParameterFolderDestination(OUTPUT_FOLDER, "Output folder"))
        self.addOutput(QgsProcessingOutputRasterLayer(CHANGE, "From-to change"))
        self.addOutput(QgsProcessingOutputVectorLayer(POLYGONS, "Change polygons"))
        self.addOutput(QgsProcessingOutputFile(MATRIX, "Transition matrix (CSV, ha)"))
        self.addOutput(QgsProcessingOutputFile(MATRIX_JSON, "Transition matrix (JSON)"))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:
        before = self.parameterAsRasterLayer(parameters, BEFORE, context)
        after = self.parameterAsRasterLayer(parameters, AFTER, context)
        if before is None or after is None:
            raise QgsProcessingException("give two class rasters (before and after)")
        out = Path(self.parameterAsString(parameters, OUTPUT_FOLDER, context))
        args = ["change", raster_path(before), raster_path(after), "--output", str(out)]
        args += ["--min-area", number(self.parameterAsDouble(parameters, MIN_AREA, context))]
        self.run_geoseg(args, feedback)
        found = {key: out / name for key, name in FILES.items() if (out / name).is_file()}
        if CHANGE not in found:
            raise QgsProcessingException(f"geoseg wrote no change raster in {out}")
        results: dict[str, Any] = {OUTPUT_FOLDER: str(out)}
        results.update({key: str(path) for key, path in found.items()})
        if POLYGONS in found:
            uri = f"{found[POLYGONS]}|layername={LAYER}"
            self.load(context, parameters, uri, "change polygons", POLYGONS, False)
        self.load(
            context, parameters, str(found[CHANGE]), "from-to change", CHANGE, True, out / STYLE
        )
        return results
