"""Options declared once, as ``Annotated`` aliases a command's signature uses (rasterio's
``rio/options.py``): ``device: Device = "auto"``. Defaults stay in the signatures, where Typer
reads them.

Here live the options more than one command has and the options that mirror a library model
(:class:`geoseg.run.options.Options`, :class:`geoseg.io.read_options.ReadOptions`); an option only
one command has is declared in that command's module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# --- where: model and outputs ---------------------------------------------------------------------

Model = Annotated[
    Path | None, typer.Option("--model", help="Model bundle folder (default: shipped model).")
]
OutDir = Annotated[Path, typer.Option("-o", "--out-dir", help="Output folder.")]

_device = typer.Option(help="auto, cpu, cuda or cuda:N.")
Device = Annotated[str, _device]
#: ``None``: as the training config says
DeviceOverride = Annotated[str | None, _device]

Precision = Annotated[
    str,
    typer.Option(
        help="auto, fp32, bf16 or int8 (CPU; the bundle's int8.onnx). auto: the fastest "
        "precision checked against fp32 for this model and processor (geoseg quantize), "
        "else fp32; mixed precision on CUDA."
    ),
]

# --- tiling (TilingOptions) -----------------------------------------------------------------------

TileSize = Annotated[int | None, typer.Option(help="Tile size in pixels.")]
Overlap = Annotated[int | None, typer.Option(help="Tile overlap in pixels.")]
BatchSize = Annotated[
    int | None,
    typer.Option(
        help="Tiles per forward pass (default: 4 on a CPU, 8 on a GPU; train: the config's)."
    ),
]
ChunkSize = Annotated[int, typer.Option(help="Chunk core size in pixels (memory).")]
Tta = Annotated[
    bool,
    typer.Option(
        help="Test-time augmentation: average each tile over its 8 flips/rotations (8× work)."
    ),
]

# --- outputs (OutputOptions) ----------------------------------------------------------------------

MinArea = Annotated[float, typer.Option(help="Minimum mapping unit for polygons, in hectares.")]
Simplify = Annotated[float, typer.Option(help="Polygon simplification tolerance (m).")]
Vectorize = Annotated[bool, typer.Option(help="Write GeoPackage polygons.")]
Confidence = Annotated[bool, typer.Option(help="Write the confidence raster.")]
Indices = Annotated[str, typer.Option(help="Also write these index rasters, e.g. NDVI,NDWI.")]
Probabilities = Annotated[
    bool,
    typer.Option(
        help="Write <scene>_probabilities.tif: each class's calibrated probability, percent "
        "(uint8, a band per class)."
    ),
]
Quicklook = Annotated[
    bool,
    typer.Option(help="Write <scene>_quicklook.png: true colour beside the class map, legend."),
]
Stac = Annotated[bool, typer.Option(help="Write <scene>_item.json, a STAC item of the outputs.")]
Overwrite = Annotated[
    bool,
    typer.Option(
        help="Replace outputs of another scene with the same names in the output folder "
        "(refused otherwise; a rerun of the same scene always replaces its own)."
    ),
]

# --- compute (ComputeOptions) ---------------------------------------------------------------------

Engine = Annotated[str, typer.Option(help="auto, inprocess, local (Dask cluster here) or dask.")]
DaskAddress = Annotated[
    str | None, typer.Option(help="Use an existing Dask cluster, e.g. tcp://HOST:8786.")
]
Workers = Annotated[int | None, typer.Option(help="Local cluster workers (default: one per core).")]
GpuResources = Annotated[
    bool, typer.Option(help="Run chunks only on Dask workers with --resources GPU=1.")
]
Resume = Annotated[
    bool, typer.Option(help="Keep finished chunks so a rerun after a crash resumes.")
]

# --- reading a scene (ReadOptions) ----------------------------------------------------------------

Bands = Annotated[str | None, typer.Option(help="Band mapping: B02=1,B03=2… or B05=file.tif:1.")]
Nodata = Annotated[float | None, typer.Option(help="Input nodata value.")]
Offset = Annotated[
    float | None, typer.Option(help="Radiometric offset in DN (e.g. -1000 for PB ≥ 04.00).")
]
Scale = Annotated[float | None, typer.Option(help="Reflectance per DN (default 1e-4).")]
Mask = Annotated[
    Path | None,
    typer.Option(
        help="Mask raster: its nonzero pixels are masked out (nodata in every output); zero and "
        "nodata pixels are classified. Any CRS/resolution."
    ),
]
Keep = Annotated[
    Path | None,
    typer.Option(
        help="Keep raster (e.g. fields): only its nonzero pixels are classified; zero, nodata and "
        "pixels outside it are masked out. Any CRS/resolution."
    ),
]
Aoi = Annotated[
    Path | None,
    typer.Option(
        help="Area of interest: any vector file (GeoPackage, shapefile, GeoJSON; any CRS); "
        "pixels outside its polygons are masked out. Vectors work for --keep/--mask too."
    ),
]
Bbox = Annotated[
    str | None,
    typer.Option(help="Bounding box minx,miny,maxx,maxy (in --bbox-crs): outside is masked out."),
]
BboxCrs = Annotated[str, typer.Option(help="CRS of --bbox (EPSG code, WKT or PROJ string).")]
CloudMask = Annotated[
    str,
    typer.Option(
        help="Clouds and cloud shadows to mask: auto (the product's SCL band in L2A, else "
        "detected by ukis-csmask at 30 m in any scene holding B02, B03, B04, B08), scl, "
        "csmask, scl,csmask, or none.",
        metavar="auto|scl|csmask|scl,csmask|none",
    ),
]
NoCloudMask = Annotated[
    bool, typer.Option("--no-cloud-mask", help="Same as --cloud-mask none.", show_default=False)
]
SclClasses = Annotated[
    str | None,
    typer.Option(help="SCL classes to mask (default 3,8,9,10: shadow, clouds, cirrus)."),
]
