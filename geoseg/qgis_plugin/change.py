"""``geoseg:change``: what became what between two class maps of one place (``geoseg change``)."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterRasterLayer,
)

from .base import OUTPUT_FOLDER, Context, Feedback, GeosegAlgorithm, Params, raster_path

BEFORE = "BEFORE"
AFTER = "AFTER"

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
        self.add_min_area_parameter("Minimum change polygon area (ha)", 0.0)
        self.add_output_folder_parameters()
        self.addOutput(QgsProcessingOutputRasterLayer(CHANGE, "From-to change"))
        self.addOutput(QgsProcessingOutputVectorLayer(POLYGONS, "Change polygons"))
        self.addOutput(QgsProcessingOutputFile(MATRIX, "Transition matrix (CSV, ha)"))
        self.addOutput(QgsProcessingOutputFile(MATRIX_JSON, "Transition matrix (JSON)"))

    def processAlgorithm(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        before = self.parameterAsRasterLayer(parameters, BEFORE, context)
        after = self.parameterAsRasterLayer(parameters, AFTER, context)
        if before is None or after is None:
            raise QgsProcessingException("give two class rasters (before and after)")
        out = self.output_folder(parameters, context)
        args = ["change", raster_path(before), raster_path(after), "--output", str(out)]
        args += self.min_area_args(parameters, context)
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
