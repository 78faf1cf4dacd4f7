"""Pure array cores: tiling maths, blending, areas, metrics, area estimates, polygons."""
