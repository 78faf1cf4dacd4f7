"""geoseg: Sentinel-2 land-cover maps as georeferenced rasters and polygons GIS analysts trust.

The public API is loaded lazily (PEP 562): ``import geoseg.tiling`` or ``geoseg.indices``
loads neither torch nor the pipeline; ``geoseg.classify`` loads them on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from geoseg._version import __version__
from geoseg.errors import GeosegError

#: public name -> module that defines it
_LAZY = {
    "ClassifyResult": "geoseg.run.results",
    "Options": "geoseg.run.options",
    "classify": "geoseg.run.classify",
    "segment": "geoseg.run.classify",
    "vectorize": "geoseg.run.classify",
    "summarize": "geoseg.run.classify",
    "open_scene": "geoseg.io.reader",
    "load_bundle": "geoseg.models.bundle",
    "area_estimate": "geoseg.analysis.sampling",
    "draw_sample": "geoseg.analysis.sampling",
    "zonal_stats": "geoseg.analysis.zonal",
    "change": "geoseg.analysis.change",
    "ChangeResult": "geoseg.analysis.change",
    "evaluate": "geoseg.analysis.evaluate",
}
#: public submodules, by their short name
_MODULES = {"plot": "geoseg.analysis.plot"}

__all__ = [
    "ChangeResult",
    "ClassifyResult",
    "GeosegError",
    "Options",
    "__version__",
    "area_estimate",
    "change",
    "classify",
    "draw_sample",
    "evaluate",
    "load_bundle",
    "open_scene",
    "plot",
    "segment",
    "summarize",
    "vectorize",
    "zonal_stats",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'geoseg' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_MODULES))


if TYPE_CHECKING:
    from geoseg.analysis import plot
    from geoseg.analysis.change import ChangeResult, change
    from geoseg.analysis.evaluate import evaluate
    from geoseg.analysis.sampling import area_estimate, draw_sample
    from geoseg.analysis.zonal import zonal_stats
    from geoseg.io.reader import open_scene
    from geoseg.models.bundle import load_bundle
    from geoseg.run.classify import classify, segment, summarize, vectorize
    from geoseg.run.options import Options
    from geoseg.run.results import ClassifyResult
