"""Every file a run writes, named in one place: the stages, the catalogue and the flows ask here.

A :class:`RunPaths` is an output folder and a scene's stem; which of its files a run actually
writes depends on the output options (:meth:`RunPaths.written`). The stem names the scene: a folder
of the SAFE layout (``IMG_DATA``, ``R10m``…) is named after its granule or product, so that two
scenes given that way do not overwrite each other in one output folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geoseg.io.scene import Scene
    from geoseg.run.options import OutputOptions

#: the files of the segment stage, and of the summarize stage (keys of :meth:`RunPaths.written`)
SEGMENT_FILES = (
    "classes",
    "style",
    "confidence",
    "confidence_style",
    "probabilities",
    "indices",
    "quicklook",
)
SUMMARY_FILES = ("stats_csv", "stats_json", "stac_item")


#: folder names of the SAFE layout: they say where bands lie in a product, not which scene it is
LAYOUT_NAMES = frozenset({"granule", "img_data", "qi_data", "r10m", "r20m", "r60m"})
#: tile and sensing time in Sentinel-2 band file names (``T33UUU_20170216T102101_B02.jp2``)
_TILE_TIME = re.compile(r"(?:^|_)(T\d{2}[A-Z]{3}_\d{8}T\d{6})(?=_|\.|$)")


def named_folder(path: str | Path) -> Path:
    """``path``; or, for a folder of the SAFE layout, the nearest folder above it (symlinks
    resolved) that is not one: the granule (``GRANULE/<id>``) or the product."""
    p = Path(path)
    if p.name.lower() not in LAYOUT_NAMES:
        return p
    p = Path(os.path.realpath(p))
    while p.name.lower() in LAYOUT_NAMES:
        p = p.parent
    return p


def scene_stem(scene: Scene) -> str:
    """The prefix of a scene's output files: the input's name; for a SAFE-layout folder the
    granule id or product name, else the tile and time its band files are named with."""
    src = Path(scene.source)
    if src.name.lower() not in LAYOUT_NAMES:
        return src.stem.removesuffix(".SAFE") or "scene"
    above = named_folder(src)
    if above.suffix.upper() == ".SAFE":
        return above.stem
    if above.parent.name.lower() == "granule":
        return above.name
    found = {m[1] for b in scene.bands.values() if (m := _TILE_TIME.search(Path(b.path).name))}
    if len(found) == 1:
        return found.pop()
    return above.name or "scene"


class _Output:
    """One output file of a run: ``<out_dir>/<stem><suffix>``, read as an attribute."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __get__(self, paths: RunPaths, owner: type | None = None) -> Path:
        return paths.out_dir / f"{paths.stem}{self.suffix}"


@dataclass(frozen=True)
class RunPaths:
    """The outputs of one scene's run in ``out_dir``."""

    out_dir: Path
    stem: str

    @classmethod
    def for_scene(cls, out_dir: str | Path, scene: Scene) -> RunPaths:
        return cls(Path(out_dir), scene_stem(scene))

    classes = _Output("_classes.tif")
    style = _Output("_classes.qml")  # QGIS style of the class raster
    confidence = _Output("_confidence.tif")
    confidence_style = _Output("_confidence.qml")  # QGIS style of the confidence raster
    probabilities = _Output("_probabilities.tif")  # one band per class, percent
    indices = _Output("_indices.tif")
    polygons = _Output(".gpkg")  # polygons, the area table and the polygons' QGIS style
    stac_item = _Output("_item.json")
    stats_csv = _Output("_stats.csv")
    stats_json = _Output("_stats.json")
    quicklook = _Output("_quicklook.png")  # true colour beside the class map, with a legend

    def chunk_store(self, fingerprint: str) -> Path:
        """Hidden folder of the finished chunks of the run with this fingerprint."""
        return self.out_dir / f".geoseg-chunks-{self.stem}-{fingerprint}"

    def written(self, output: OutputOptions) -> dict[str, Path]:
        """The files a run with these output options leaves, by name."""
        wanted = {
            "classes": True,
            "style": True,
            "confidence": output.confidence,
            "confidence_style": output.confidence,
            "probabilities": output.probabilities,
            "indices": bool(output.indices),
            "quicklook": output.quicklook,
            "polygons": output.vectorize,
            "stac_item": output.stac,
            "stats_csv": True,
            "stats_json": True,
        }
        return {name: getattr(self, name) for name, keep in wanted.items() if keep}
