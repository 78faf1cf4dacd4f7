"""What the stages hand on: a segmentation, its polygons, and a whole run's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from geoseg.classes import ClassInfo
from geoseg.core.areas import AreaAccumulator
from geoseg.errors import OutputError
from geoseg.io.grid import Grid
from geoseg.run.identity import RunSummary
from geoseg.run.paths import RunPaths

if TYPE_CHECKING:
    from datetime import date

    import pandas as pd
    import xarray as xr

Progress = Callable[[str, int, int], None]  # (phase, done, total)


def no_progress(phase: str, done: int, total: int) -> None:
    return None


@dataclass
class ClassifyResult:
    """Where a run's outputs are, and its class-area table."""

    out_dir: Path
    classes: Path
    confidence: Path | None
    polygons: Path | None
    stats_csv: Path
    stats_json: Path
    style: Path
    indices: Path | None
    stats: pd.DataFrame
    valid_pixels: int
    total_pixels: int
    timings: dict[str, float] = field(default_factory=dict)
    masked_pixels: int = 0  # pixels with data that a cloud/user mask made nodata
    stac_item: Path | None = None
    warnings: list[str] = field(default_factory=list)  # what the model may not know (domain)
    confidence_style: Path | None = None  # QGIS style of the confidence raster
    probabilities: Path | None = None  # every class's probability, percent, a band each
    quicklook: Path | None = None  # PNG: true colour beside the class map
    chunks: int = 0  # chunks of the scene's tiling
    reused_chunks: int = 0  # finished by an interrupted run of the same inputs, not recomputed

    @property
    def masked_share(self) -> float:
        """Masked pixels as a share (0–1) of the pixels holding data."""
        return self.masked_pixels / max(self.valid_pixels + self.masked_pixels, 1)

    @property
    def outputs(self) -> list[Path]:
        paths = [self.classes, self.confidence, self.polygons, self.stats_csv, self.stats_json]
        more = [self.confidence_style, self.probabilities, self.quicklook]
        return [p for p in (*paths, self.style, self.indices, self.stac_item, *more) if p]

    def open_classes(self) -> xr.DataArray:
        """The class raster as an xarray DataArray with class names and colours (lazy)."""
        from geoseg.io.xr import open_classes

        return open_classes(self.classes)

    def open_confidence(self) -> xr.DataArray:
        """The confidence raster (percent, NaN = nodata) as an xarray DataArray."""
        from geoseg.io.xr import open_raster

        if self.confidence is None:
            raise OutputError(
                "this run wrote no confidence raster", self.out_dir, "omit --no-confidence"
            )
        return open_raster(self.confidence)

    def open_probabilities(self) -> xr.DataArray:
        """The class probabilities (percent, NaN = nodata; ``band`` coordinate = class names)."""
        from geoseg.io.xr import open_raster

        if self.probabilities is None:
            raise OutputError(
                "this run wrote no probability raster", self.out_dir, "pass --probabilities"
            )
        return open_raster(self.probabilities, keep_band=True)

    def open_indices(self) -> xr.DataArray:
        """The index rasters (``band`` coordinate = index names) as an xarray DataArray."""
        from geoseg.io.xr import open_raster

        if self.indices is None:
            raise OutputError("this run wrote no index rasters", self.out_dir, "pass indices")
        return open_raster(self.indices, keep_band=True)


@dataclass
class Segmentation:
    """The first stage's outputs on disk and what the later stages need from the run."""

    out_dir: Path
    stem: str
    grid: Grid
    classes: Path
    confidence: Path | None
    indices: Path | None
    style: Path
    class_info: list[ClassInfo]
    model_name: str
    area: AreaAccumulator
    masked_pixels: int
    acquired: date | None  # the scene's date (product metadata, tags or file name)
    stac: bool  # describe the outputs in a STAC item
    summary: RunSummary  # provenance for the stats JSON (source, model, options, grid)
    timings: dict[str, float] = field(default_factory=dict)
    confidence_style: Path | None = None
    probabilities: Path | None = None
    quicklook: Path | None = None

    @property
    def paths(self) -> RunPaths:
        return RunPaths(self.out_dir, self.stem)

    @property
    def outputs(self) -> list[Path]:
        written = (self.classes, self.confidence, self.indices, self.style)
        return [
            p for p in (*written, self.confidence_style, self.probabilities, self.quicklook) if p
        ]


@dataclass
class Vectors:
    """The second stage's GeoPackage and how many polygons each class got."""

    path: Path
    polygons_per_class: list[int]
