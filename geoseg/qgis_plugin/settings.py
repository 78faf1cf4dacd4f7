"""The plugin's one setting, the geoseg executable (Settings ▸ Options ▸ Processing ▸ Providers ▸
geoseg), found automatically when left empty; apart from the provider, which the algorithms
(that run the executable) would otherwise import in a cycle."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsSettings

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
