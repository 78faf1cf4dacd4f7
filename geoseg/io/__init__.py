"""Readers and writers at the edges of the pipeline: scenes in, rasters and GeoPackages out."""

from geoseg.io.geotiff import open_scene
from geoseg.io.scene import BandSource, Grid, Scene

__all__ = ["BandSource", "Grid", "Scene", "open_scene"]
