"""geoseg in the QGIS Processing toolbox: the plugin's entry point.

Installed as ``geoseg_processing`` in the QGIS profile's ``python/plugins`` (``geoseg qgis
install``); in the repository and the wheel it is ``geoseg/qgis_plugin/``. Nothing here imports
QGIS at import time, so :mod:`.runner` is testable without it.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:
    """QGIS's entry point: the plugin object."""
    from .plugin import GeosegPlugin

    return GeosegPlugin(iface)
