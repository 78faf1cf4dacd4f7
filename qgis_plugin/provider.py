"""The ``geoseg`` Processing provider: three algorithms and one setting, the geoseg executable
(Settings ▸ Options ▸ Processing ▸ Providers ▸ geoseg), found automatically when left empty."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider, QgsSettings
from qgis.PyQt.QtGui import QIcon

from . import runner

PLUGIN_DIR = Path(__file__).resolve().parent
#: the setting's name; Processing stores it as ``Processing/Configuration/GEOSEG_EXECUTABLE``
EXECUTABLE_SETTING = "GEOSEG_EXECUTABLE"
_SETTINGS_KEY = f"Processing/Configuration/{EXECUTABLE_SETTING}"


def configured_executable() -> str:
    """The executable set in Processing's options ('' when left to be found)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        value = ProcessingConfig.getSetting(EXECUTABLE_SETTING)
    except Exception:  # Processing's Python part absent (a bare qgis_process): the raw setting
        value = None
    if value is None:
        value = QgsSettings().value(_SETTINGS_KEY, "")
    return str(value or "").strip()


def set_configured_executable(path: str) -> None:
    """Set the executable (what the options dialog does); '' to find it automatically."""
    QgsSettings().setValue(_SETTINGS_KEY, path)
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        setting = ProcessingConfig.settings.get(EXECUTABLE_SETTING)
    except Exception:
        return
    if setting is not None:
        setting.value = path  # as typed: a wrong path gets its error when an algorithm runs


def executable() -> str | None:
    """The geoseg executable to run: the setting, or the first one found (see
    :func:`runner.candidates`)."""
    return runner.find_geoseg(PLUGIN_DIR, configured_executable() or None)


class GeosegProvider(QgsProcessingProvider):
    """``geoseg:classify``, ``geoseg:change`` and ``geoseg:zonal``."""

    def id(self) -> str:
        return "geoseg"

    def name(self) -> str:
        return "geoseg"

    def longName(self) -> str:
        return "geoseg: Sentinel-2 land cover"

    def icon(self) -> QIcon:
        return QIcon(str(PLUGIN_DIR / "icon.svg"))

    def load(self) -> bool:
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except Exception:
            return super().load()
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(
            Setting(
                self.name(),
                EXECUTABLE_SETTING,
                "geoseg executable (empty: found automatically)",
                "",
                valuetype=Setting.FILE,
            )
        )
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except Exception:
            return
        if EXECUTABLE_SETTING in ProcessingConfig.settings:
            ProcessingConfig.removeSetting(EXECUTABLE_SETTING)

    def loadAlgorithms(self) -> None:
        from .change import ChangeAlgorithm
        from .classify import ClassifyAlgorithm
        from .zonal import ZonalAlgorithm

        for algorithm in (ClassifyAlgorithm(), ChangeAlgorithm(), ZonalAlgorithm()):
            self.addAlgorithm(algorithm)
