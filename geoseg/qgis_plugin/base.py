"""What the three algorithms share: running geoseg with progress and Cancel, and opening its
outputs in the project with geoseg's own styles."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, TypeAlias

from qgis.core import (
    QgsMapLayer,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingUtils,
)
from qgis.PyQt.QtGui import QIcon

from . import runner
from .settings import PLUGIN_DIR, executable

LOAD_OUTPUTS = "LOAD_OUTPUTS"
MIN_AREA = "MIN_AREA"
OUTPUT_FOLDER = "OUTPUT_FOLDER"
HELP_URL = "https://example.invalid/geoseg#in-qgis"
#: ``processAlgorithm``'s argument types, short so that the overrides fit on one line
Params: TypeAlias = dict[str, Any]
Context: TypeAlias = QgsProcessingContext
Feedback: TypeAlias = QgsProcessingFeedback
#: where the executable is set in QGIS
SETTING_PATH = "Settings ▸ Options ▸ Processing ▸ Providers ▸ geoseg ▸ geoseg executable"


class _Style(QgsProcessingLayerPostProcessorInterface):
    """Once QGIS has opened an output: apply geoseg's QML sidecar, or the layer's default style
    (the ``layer_styles`` table geoseg writes in its GeoPackages); name it."""

    #: QGIS keeps only a pointer: the Python objects must live on
    keep: list[_Style] = []  # noqa: RUF012

    def __init__(self, qml: str | None, name: str) -> None:
        super().__init__()
        self.qml = qml
        self.name = name

    @classmethod
    def create(cls, qml: str | None, name: str) -> _Style:
        post = cls(qml, name)
        cls.keep.append(post)
        return post

    def postProcessLayer(
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        if self.qml and Path(self.qml).is_file():
            message, ok = layer.loadNamedStyle(self.qml)
        else:
            message, ok = layer.loadDefaultStyle()
        if not ok:
            feedback.pushInfo(f"geoseg: no style applied to {self.name}: {message}")
        layer.setName(self.name)
        layer.triggerRepaint()


class GeosegAlgorithm(QgsProcessingAlgorithm):
    """A Processing algorithm that is one ``geoseg`` command: a subclass names it (``ID``, the
    part after ``geoseg:``), titles it and explains it (``HELP``, the dialog's help pane)."""

    ID = ""
    TITLE = ""
    HELP = ""

    def createInstance(self) -> QgsProcessingAlgorithm:
        return type(self)()

    def name(self) -> str:
        return self.ID

    def displayName(self) -> str:
        return self.TITLE

    def shortHelpString(self) -> str:
        return self.HELP

    def icon(self) -> QIcon:
        return QIcon(str(PLUGIN_DIR / "icon.svg"))

    def helpUrl(self) -> str:
        return HELP_URL

    def flags(self) -> Any:
        return super().flags() | QgsProcessingAlgorithm.FlagCanCancel

    # --- parameters more than one algorithm has ---------------------------------------------

    def add_min_area_parameter(self, description: str, default: float) -> None:
        self.addParameter(
            QgsProcessingParameterNumber(
                MIN_AREA,
                description,
                type=QgsProcessingParameterNumber.Double,
                defaultValue=default,
                minValue=0.0,
            )
        )

    def min_area_args(self, parameters: dict[str, Any], context: QgsProcessingContext) -> list[str]:
        return ["--min-area", number(self.parameterAsDouble(parameters, MIN_AREA, context))]

    def add_load_parameter(self) -> None:
        self.addParameter(
            QgsProcessingParameterBoolean(
                LOAD_OUTPUTS, "Open the outputs in the project (styled)", defaultValue=True
            )
        )

    def add_output_folder_parameters(self) -> None:
        """The "open the outputs" switch and the output folder, last in the dialog."""
        self.add_load_parameter()
        self.addParameter(QgsProcessingParameterFolderDestination(OUTPUT_FOLDER, "Output folder"))

    def output_folder(self, parameters: dict[str, Any], context: QgsProcessingContext) -> Path:
        return Path(self.parameterAsString(parameters, OUTPUT_FOLDER, context))

    # --- running geoseg --------------------------------------------------------------------

    def run_geoseg(self, args: list[str], feedback: QgsProcessingFeedback) -> runner.RunResult:
        """``geoseg ARGS`` with its progress in ``feedback``, stopped on Cancel; an error (its
        one-line message) if it fails or is canceled."""
        exe = executable()
        if exe is None:
            raise QgsProcessingException(
                "geoseg was not found: install geoseg (see its README, 'In QGIS'), then set its "
                f"executable in {SETTING_PATH}"
            )
        if runner.usable(exe) is None:
            raise QgsProcessingException(
                f"the geoseg executable is not an executable file ({exe}): in {SETTING_PATH}, "
                "give geoseg's path (…/bin/geoseg of its environment), or leave it empty to have "
                "it found"
            )
        feedback.pushCommandInfo(" ".join(shlex.quote(a) for a in [exe, *args]))
        best = [0.0]
        phases: list[str] = []

        def on_progress(p: runner.Progress) -> None:
            if p.phase not in phases:  # a line per phase: QGIS logs every progress text
                phases.append(p.phase)
                feedback.setProgressText(f"geoseg: {p.phase}")
            if p.percent > best[0]:
                best[0] = p.percent
                feedback.setProgress(p.percent)

        try:
            result = runner.run_geoseg(
                exe,
                args,
                on_progress=on_progress,
                on_line=runner.log_only(feedback.pushConsoleInfo),  # errors: raised below
                is_canceled=feedback.isCanceled,
            )
        except OSError as exc:
            raise QgsProcessingException(f"cannot run geoseg ({exe}): {exc}") from exc
        if result.canceled:
            said = runner.error_message(result.lines)  # geoseg's "terminated: …" line
            raise QgsProcessingException("geoseg was canceled" + (f" ({said})" if said else ""))
        if result.returncode != 0:
            message = runner.error_message(result.lines)
            raise QgsProcessingException(
                message or f"geoseg exited with code {result.returncode} (see the log)"
            )
        feedback.setProgress(100)
        feedback.pushInfo(f"geoseg finished in {result.seconds:.1f} s")
        return result

    # --- outputs ---------------------------------------------------------------------------

    def load(
        self,
        context: QgsProcessingContext,
        parameters: dict[str, Any],
        uri: str,
        name: str,
        output: str,
        raster: bool,
        qml: Path | None = None,
    ) -> None:
        """Open ``uri`` in the project once the algorithm ends (if the user asked), styled."""
        if not self.parameterAsBoolean(parameters, LOAD_OUTPUTS, context):
            return
        hint = (
            QgsProcessingUtils.LayerHint.Raster if raster else QgsProcessingUtils.LayerHint.Vector
        )
        details = QgsProcessingContext.LayerDetails(name, context.project(), output, hint)
        details.setPostProcessor(_Style.create(str(qml) if qml else None, name))
        context.addLayerToLoadOnCompletion(uri, details)


def raster_path(layer: Any) -> str:
    """The file behind a raster layer (GDAL's URI without options)."""
    return str(layer.source()).split("|")[0]


def extra_args(text: str) -> list[str]:
    """The user's free-form extra options, split as a shell would (``--offset -1000``)."""
    try:
        return shlex.split(text or "")
    except ValueError as exc:
        raise QgsProcessingException(f"the extra options cannot be read: {exc}") from exc


def number(value: float) -> str:
    """A number as geoseg's options take it (``0.05``, ``2.0``)."""
    return repr(float(value))
