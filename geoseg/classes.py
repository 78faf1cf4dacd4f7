"""The class contract shared by every layer: the nodata value and what a class is.

Torch-free on purpose: rasters, statistics, styles and STAC items need class names and colours
without loading a model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, Field

#: Class value of pixels without a class (no data, masked, unlabelled); also the training
#: loss's ignore index. The only place it is defined.
NODATA = 255

#: Raster tag holding the legend as JSON ``{"0": "water", …}``.
LEGEND_TAG = "GEOSEG_CLASSES"


class ClassInfo(BaseModel):
    """One land-cover class: its value in the class raster, name and display colour."""

    id: int = Field(ge=0, le=NODATA - 1)
    name: str = Field(pattern=r"^[A-Za-z0-9_ -]+$")
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")

    @property
    def rgb(self) -> tuple[int, int, int]:
        c = self.color.lstrip("#")
        return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


#: Dynamic World's nine classes in its order and palette: the default model's classes and the
#: codes of the ``label.tif`` teacher labels in ``../shared/data``.
DW_CLASSES: list[ClassInfo] = [
    ClassInfo(id=i, name=n, color=c)
    for i, (n, c) in enumerate(
        [
            ("water", "#419bdf"),
            ("trees", "#397d49"),
            ("grass", "#88b053"),
            ("flooded_vegetation", "#7a87c6"),
            ("crops", "#e49635"),
            ("shrub_and_scrub", "#dfc35a"),
            ("built", "#c4281b"),
            ("bare", "#a59b8f"),
            ("snow_and_ice", "#b39fe1"),
        ]
    )
]


def legend_json(classes: Sequence[ClassInfo]) -> str:
    """The legend as the JSON text of the ``GEOSEG_CLASSES`` tag."""
    return json.dumps({c.id: c.name for c in classes})


def parse_legend(text: str) -> list[str]:
    """Class names (by value) from a legend tag: JSON object or list, or comma-separated."""
    try:
        value = json.loads(text)
    except ValueError:
        return [s.strip() for s in text.split(",")]
    if isinstance(value, dict):
        return [str(value[k]) for k in sorted(value, key=int)]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [s.strip() for s in text.split(",")]
