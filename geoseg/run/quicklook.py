"""Quick looks: true colour beside the class map, with a legend, from decimated reads.

Both panels are read at most ``max_size`` pixels on a side with ``out_shape``, so GDAL serves them
from the COG overviews (class rasters: mode; scenes: whatever overviews the product has) and a
full 10980² scene draws in about a second without ever being read whole. Here (not in
:mod:`geoseg.analysis.plot`, which re-exports it) so that ``classify --quicklook`` can draw one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError

from geoseg.errors import GeosegError, InputError
from geoseg.io.grid import on_grid
from geoseg.io.reader import open_scene
from geoseg.io.scene import Scene

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure

TRUE_COLOUR = ("B04", "B03", "B02")
#: the PNG's panels are read at most this many pixels a side
PNG_MAX_SIZE = 1000
PNG_DPI = 150
CLASSES_SUFFIX = "_classes.tif"


def _shape(height: int, width: int, max_size: int) -> tuple[int, int]:
    f = max(1.0, max(height, width) / max_size)
    return max(1, round(height / f)), max(1, round(width / f))


def _extent(transform: Any, width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0 = transform * (0, 0)
    x1, y1 = transform * (width, height)
    return (x0, x1, y1, y0)


def true_colour(scene: Scene, max_size: int = 1024, stretch: float = 0.3) -> np.ndarray:
    """RGBA float image (``h, w, 4``) of B04/B03/B02 reflectance, 0..``stretch`` → 0..1;
    transparent where any band is nodata."""
    scene.require(TRUE_COLOUR)
    h, w = _shape(scene.grid.height, scene.grid.width, max_size)
    rgba = np.zeros((h, w, 4), dtype=np.float32)
    valid = np.ones((h, w), dtype=bool)
    for k, name in enumerate(TRUE_COLOUR):
        src = scene.bands[name]
        try:
            with rasterio.open(src.path) as ds:
                view = on_grid(ds, scene.grid, Resampling.bilinear)
                band = view.read(src.index, out_shape=(h, w), resampling=Resampling.average)
                if view is not ds:
                    view.close()
        except RasterioError as exc:
            raise InputError("cannot read the scene", src.path, str(exc)) from exc
        if src.nodata is not None:
            valid &= band != src.nodata
        rgba[..., k] = np.clip((band * src.scale + src.offset) / stretch, 0, 1)
    rgba[..., 3] = valid
    rgba[~valid, :3] = 0
    return rgba


#: Colours of the pixels the cloud detector masked (nodata in the class raster).
CLOUD_COLOURS = {1: ("cloud (masked)", "#ffffff"), 2: ("cloud shadow (masked)", "#3c3c46")}


def _draw_clouds(ax: Any, scene: Scene | None, shape: tuple[int, ...], extent: Any) -> list[Any]:
    """Detected clouds and shadows over the class panel, in their own colours, and their
    legend entries. Only a mask the run already computed is drawn (``classify --quicklook``):
    detecting again for a finished run's quick look would cost as much as the run's mask."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    found = [v for k, v in (scene.memo.items() if scene else []) if k[0] == "detected"]
    if scene is None or not found:
        return []
    h, w = shape
    rows = ((np.arange(h) + 0.5) * scene.grid.height / h).astype(np.int64)
    cols = ((np.arange(w) + 0.5) * scene.grid.width / w).astype(np.int64)
    labels = found[0].labels_at(rows, cols)
    shown = np.ma.masked_where((labels != 1) & (labels != 2), labels)
    colours = ListedColormap([CLOUD_COLOURS[1][1], CLOUD_COLOURS[2][1]])
    ax.imshow(shown, cmap=colours, vmin=0.5, vmax=2.5, extent=extent, interpolation="nearest")
    present = set(np.unique(labels).tolist())
    return [
        Patch(facecolor=colour, edgecolor="#888888", label=name)
        for value, (name, colour) in CLOUD_COLOURS.items()
        if value in present
    ]


def figure_size(scene: Scene | None) -> tuple[float, float]:
    """Inches: 6 a panel (true colour when there is a scene, classes) and 2 for the legend."""
    return (6.0 * (2 if scene is not None else 1) + 2, 6.0)


def draw(
    fig: Figure,
    classes: str | Path,
    scene: Scene | None = None,
    fields: gpd.GeoDataFrame | None = None,
    max_size: int = 1024,
    title: str | None = None,
) -> Figure:
    """Draw the quick look into ``fig``: true colour (when a scene is given) beside the classes,
    legend of the classes present, optional field outlines on both panels."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from geoseg.io.xr import open_classes

    legend = open_classes(classes).attrs
    names, colors = legend["class_names"], legend["class_colors"] or None
    try:
        with rasterio.open(classes) as ds:
            h, w = _shape(ds.height, ds.width, max_size)
            data = ds.read(1, out_shape=(h, w), resampling=Resampling.nearest)
            extent, crs = _extent(ds.transform, ds.width, ds.height), ds.crs
    except RasterioError as exc:
        raise InputError("cannot read the class raster", classes, str(exc)) from exc
    axes = fig.subplots(1, 2 if scene is not None else 1, squeeze=False)
    ax_list = list(axes[0])
    if scene is not None:
        g = scene.grid
        ax_list[0].imshow(
            true_colour(scene, max_size), extent=_extent(g.transform, g.width, g.height)
        )
        ax_list[0].set_title("true colour (B04, B03, B02)")
    n = len(names)
    cmap = ListedColormap(colors or colormaps["tab10"](np.arange(n) % 10))
    cmap.set_bad((0, 0, 0, 0))
    norm = BoundaryNorm(np.arange(-0.5, n + 0.5), n)
    ax = ax_list[-1]
    masked = np.ma.masked_where(data >= n, data)
    ax.imshow(masked, cmap=cmap, norm=norm, extent=extent, interpolation="nearest")
    ax.set_title("classes")
    present = sorted(set(np.unique(data[data < n]).tolist()))
    handles = [Patch(color=cmap(i), label=names[i]) for i in present]
    handles += _draw_clouds(ax, scene, data.shape, extent)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    if fields is not None:
        outline = fields.to_crs(crs.to_wkt()) if crs is not None else fields
        for a in ax_list:
            outline.boundary.plot(ax=a, color="black", linewidth=1.2)
            for label, geom in zip(outline.index, outline.geometry, strict=True):
                c = geom.representative_point()
                a.annotate(str(label), (c.x, c.y), ha="center", fontsize=8, weight="bold")
    for a in ax_list:
        a.set_xticks([])
        a.set_yticks([])
        a.set_xlabel("")
        a.set_ylabel("")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_png(
    classes: str | Path, dest: Path, scene: Scene | None = None, title: str | None = None
) -> Path:
    """The quick look as a PNG (no pyplot figure is left open: safe in servers and threads)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figure_size(scene))
    draw(fig, classes, scene, max_size=PNG_MAX_SIZE, title=title)
    fig.savefig(dest, dpi=PNG_DPI, format="png")
    return dest


def drawable(scene: Scene | None) -> Scene | None:
    """``scene`` when it has the true-colour bands, else None (the class map alone)."""
    if scene is None or not all(b in scene.bands for b in TRUE_COLOUR):
        return None
    return scene


def class_raster_of(target: str | Path) -> Path:
    """The class raster of a finished run: ``target`` itself, or the one in that folder."""
    path = Path(target)
    if path.is_dir():
        found = sorted(path.glob(f"*{CLASSES_SUFFIX}"))
        if len(found) != 1:
            what = "no class raster" if not found else f"{len(found)} class rasters"
            raise InputError(
                f"{what} (*{CLASSES_SUFFIX}) in this folder",
                path,
                "give the output folder of one geoseg classify run, or its class raster",
            )
        return found[0]
    if not path.is_file():
        raise InputError("no such file or folder", path, "give a geoseg classify output folder")
    return path


def recorded_scene(classes: Path) -> Scene | None:
    """The scene a class raster was made from (its ``GEOSEG_SOURCE`` tag), when it is a local
    input still readable as it was; None otherwise (moved, deleted, remote)."""
    try:
        with rasterio.open(classes) as ds:
            source = ds.tags().get("GEOSEG_SOURCE")
    except RasterioError as exc:
        raise InputError("cannot read the class raster", classes, str(exc)) from exc
    if not source or "://" in source or not Path(source).exists():
        return None
    try:
        return drawable(open_scene(source))
    except GeosegError:
        return None


def quicklook_of_run(
    target: str | Path, scene: str | Path | None = None, dest: str | Path | None = None
) -> tuple[Path, Scene | None]:
    """``<scene>_quicklook.png`` beside a finished run's class raster (or at ``dest``): true
    colour from ``scene``, else from the recorded source when readable, else the classes alone.
    Returns the PNG and the scene drawn (None: the class map alone)."""
    classes = class_raster_of(target)
    named = classes.name.endswith(CLASSES_SUFFIX)
    stem = classes.name.removesuffix(CLASSES_SUFFIX) if named else classes.stem
    source = drawable(open_scene(scene)) if scene is not None else recorded_scene(classes)
    if scene is not None and source is None:
        raise InputError("the scene lacks the true-colour bands B04, B03, B02", scene)
    out = Path(dest) if dest is not None else classes.parent / f"{stem}_quicklook.png"
    return write_png(classes, out, source, title=stem), source
