"""The ``geoseg`` Processing provider: three algorithms and one setting, the geoseg executable
(Settings ▸ Options ▸ Processing ▸ Providers ▸ geoseg), found automatically when left empty."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .settings import (
    EXECUTABLE_SETTING,
    PLUGIN_DIR,
    configured_executable,
    executable,
    set_configured_executable,
)

#: the setting's functions are reached here too (tests/qgis_plugin/qgis_checks.py)
__all__ = [
    "EXECUTABLE_SETTING",
    "PLUGIN_DIR",
    "GeosegProvider",
    "configured_executable",
    "executable",
    "set_configured_executable",
]


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
