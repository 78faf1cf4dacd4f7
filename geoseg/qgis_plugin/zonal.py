"""``geoseg:zonal``: per field and date, class shares and index statistics (``geoseg zonal``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

from .base import Context, Feedback, GeosegAlgorithm, Params, raster_path

FIELDS = "FIELDS"
RASTERS = "RASTERS"
DATES = "DATES"
INDICES = "INDICES"
ID_FIELD = "ID_FIELD"
OUTPUT = "OUTPUT"
TABLE = "TABLE"
#: the layer geoseg writes in a GeoPackage output (geoseg/analysis/zonal.py)
LAYER = "zonal_stats"


class ZonalAlgorithm(GeosegAlgorithm):
    """``geoseg zonal FIELDS RASTERS… -o OUTPUT``."""

    ID = "zonal"
    TITLE = "Zonal statistics per field and date"
    HELP = (
        "Per field polygon and date: the share of each class (from class rasters such as "
        "geoseg:classify's 'Land-cover classes') and index statistics (mean, median, p10, "
        "p90 of e.g. NDVI from scenes or index rasters).\n\n"
        "Dates: one per raster, in order, comma-separated (e.g. 2021-05-01,2021-06-01); "
        "empty: from the rasters' metadata or file names. Output: a GeoPackage (layer "
        "zonal_stats, with the field polygons) or a CSV table. mapped_pct and "
        "<INDEX>_valid_pct give the share of each field with valid pixels."
    )

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                FIELDS, "Fields (polygons)", types=[QgsProcessing.TypeVectorPolygon]
            )
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                RASTERS,
                "Class rasters, index rasters or scenes (any dates)",
                layerType=QgsProcessing.TypeRaster,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                DATES, "Date of each raster, in order, comma-separated", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                INDICES, "Indices computed from scenes", defaultValue="NDVI,NDWI", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterField(
                ID_FIELD,
                "Field id column (empty: row number)",
                parentLayerParameterName=FIELDS,
                optional=True,
            )
        )
        self.add_load_parameter()
        self.addParameter(
            QgsProcessingParameterFileDestination(
                OUTPUT, "Zonal statistics", fileFilter="GeoPackage (*.gpkg);;CSV (*.csv)"
            )
        )
        self.addOutput(QgsProcessingOutputVectorLayer(TABLE, "Zonal statistics layer"))

    def processAlgorithm(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        fields, layer = self.parameterAsCompatibleSourceLayerPathAndLayerName(
            parameters, FIELDS, context, ["gpkg", "shp", "geojson"], "gpkg", feedback
        )
        rasters = [raster_path(r) for r in self.parameterAsLayerList(parameters, RASTERS, context)]
        if not rasters:
            raise QgsProcessingException("give at least one raster")
        output = Path(self.parameterAsFileOutput(parameters, OUTPUT, context))
        if output.suffix.lower() not in (".gpkg", ".csv"):
            output = output.with_suffix(".gpkg")
        args = ["zonal", fields, *rasters, "--output", str(output)]
        if layer:
            args += ["--layer", layer]
        dates = self.parameterAsString(parameters, DATES, context)
        for date in (d.strip() for d in dates.split(",")):
            if date:
                args += ["--date", date]
        indices = self.parameterAsString(parameters, INDICES, context)
        args += ["--indices", indices or ""]
        id_fields = self.parameterAsFields(parameters, ID_FIELD, context)
        if id_fields:
            args += ["--id-field", id_fields[0]]
        self.run_geoseg(args, feedback)
        if not output.is_file():
            raise QgsProcessingException(f"geoseg wrote no zonal statistics at {output}")
        uri = f"{output}|layername={LAYER}" if output.suffix.lower() == ".gpkg" else str(output)
        self.load(context, parameters, uri, f"{output.stem} zonal statistics", TABLE, False)
        return {OUTPUT: str(output), TABLE: uri}
