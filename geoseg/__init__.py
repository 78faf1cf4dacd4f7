"""geoseg: Sentinel-2 land-cover maps as georeferenced rasters and polygons GIS analysts trust."""

from __future__ import annotations

__version__ = "0.1.0"

from geoseg import plot
from geoseg.errors import GeosegError
from geoseg.io.reader import open_scene
from geoseg.models.bundle import load_bundle
from geoseg.pipeline import ClassifyResult, Options, classify
from geoseg.sampling import area_estimate, draw_sample
from geoseg.zonal import zonal_stats

__all__ = [
    "ClassifyResult",
    "GeosegError",
    "Options",
    "__version__",
    "area_estimate",
    "classify",
    "draw_sample",
    "load_bundle",
    "open_scene",
    "plot",
    "zonal_stats",
]
