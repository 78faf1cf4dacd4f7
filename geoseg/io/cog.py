"""Class and confidence rasters: staged as tiled GeoTIFFs chunk by chunk, finished as COGs.

Writing window by window keeps memory bound by the chunk; the Cloud-Optimized GeoTIFF (internal
tiles, mode-resampled overviews, DEFLATE) is produced by GDAL's COG driver from the staged file, so
no code path holds the full raster. Callers stage into a temporary folder and rename at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from geoseg.classes import NODATA
from geoseg.io.grid import Grid

BLOCK = 512


class StagedRaster:
    """A tiled GeoTIFF opened for window writes; ``to_cog`` turns it into the deliverable."""

    def __init__(
        self,
        path: Path,
        grid: Grid,
        dtype: str = "uint8",
        count: int = 1,
        nodata: float | None = NODATA,
        descriptions: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
        colormap: Mapping[int, tuple[int, int, int, int]] | None = None,
    ) -> None:
        self.path = path
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": grid.width,
            "height": grid.height,
            "count": count,
            "dtype": dtype,
            "crs": grid.crs,
            "transform": grid.transform,
            "nodata": nodata,
            "tiled": True,
            "blockxsize": BLOCK,
            "blockysize": BLOCK,
            # staging only (to_cog compresses the deliverable): on a 10240² raster, staging and
            # COG copy took 6.4 s (classes) and 7.6 s (confidence) against 7.9 and 10.6 with deflate
            "compress": "zstd",
            "zstd_level": 1,
            "bigtiff": "if_safer",
        }
        self._ds = rasterio.open(path, "w", **profile)
        for i, text in enumerate(descriptions, start=1):
            self._ds.set_band_description(i, text)
        if tags:
            self._ds.update_tags(**tags)
        if colormap:
            self._ds.write_colormap(1, colormap)

    def write(self, window: Window, data: np.ndarray) -> None:
        self._ds.write(data if data.ndim == 3 else data[None], window=window)

    def close(self) -> None:
        if not self._ds.closed:
            self._ds.close()

    def to_cog(self, dest: Path, resampling: str = "MODE", predictor: str = "NO") -> Path:
        """Write the COG to ``dest``: internal tiles, overviews, DEFLATE, compressed on every
        core (a 10240² confidence raster on 2 cores: 6.2 s instead of 9.6, the same bytes)."""
        self.close()
        rasterio.shutil.copy(
            self.path,
            dest,
            driver="COG",
            COMPRESS="DEFLATE",
            PREDICTOR=predictor,
            BLOCKSIZE=str(BLOCK),
            RESAMPLING=resampling,
            OVERVIEWS="AUTO",
            BIGTIFF="IF_SAFER",
            NUM_THREADS="ALL_CPUS",
        )
        return dest
