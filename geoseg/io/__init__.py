"""Readers and writers at the edges of the pipeline: scenes in, rasters and GeoPackages out."""

from geoseg.io.grid import Grid
from geoseg.io.reader import open_scene, scene_kind
from geoseg.io.scene import BandSource, Scene

__all__ = ["BandSource", "Grid", "Scene", "open_scene", "scene_kind"]
