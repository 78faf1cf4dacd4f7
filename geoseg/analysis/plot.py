"""Quick looks: true colour beside the class map, with a legend, from decimated reads.

Both panels are read at most ``max_size`` pixels on a side with ``out_shape``, so GDAL serves them
from the COG overviews and a full 10980² scene draws in about a second without ever being read
whole. The drawing lives in :mod:`geoseg.run.quicklook` (``classify --quicklook`` writes it as a
PNG); this is the notebook face of it: a pyplot figure, the scene given by path or object.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoseg.io.read_options import ReadOptions
from geoseg.io.reader import open_scene
from geoseg.io.scene import Scene
from geoseg.run.quicklook import TRUE_COLOUR, draw, figure_size, quicklook_of_run, true_colour

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure

__all__ = ["TRUE_COLOUR", "quicklook", "quicklook_of_run", "true_colour"]


def quicklook(
    classes: str | Path,
    scene: str | Path | Scene | None = None,
    fields: gpd.GeoDataFrame | None = None,
    max_size: int = 1024,
    title: str | None = None,
    read: ReadOptions | None = None,
    **read_options: Any,
) -> Figure:
    """A figure: true colour (when a scene is given) beside the classes, legend of the classes
    present, optional field outlines on both panels. ``read`` (or its fields as keywords) says
    how a scene given by path is read."""
    import matplotlib.pyplot as plt

    if scene is not None and not isinstance(scene, Scene):
        scene = open_scene(scene, **ReadOptions.build(read, **read_options).kwargs())
    fig = plt.figure(figsize=figure_size(scene))
    return draw(fig, classes, scene, fields, max_size, title)
