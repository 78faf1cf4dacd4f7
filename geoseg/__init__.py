"""geoseg: Sentinel-2 land-cover maps as georeferenced rasters and polygons GIS analysts trust."""

from __future__ import annotations

__version__ = "0.1.0"

from geoseg.errors import GeosegError
from geoseg.io.reader import open_scene
from geoseg.models.bundle import load_bundle
from geoseg.pipeline import ClassifyResult, Options, classify

__all__ = [
    "ClassifyResult",
    "GeosegError",
    "Options",
    "__version__",
    "classify",
    "load_bundle",
    "open_scene",
]
