"""``geoseg classify``: a scene → class COG, confidence, polygons and the class-area table
(class probabilities and a quick look on request).

The options are built and checked here, at the boundary: a bad value is one line and exit code 2
before :func:`geoseg.run.classify.classify` reads or writes anything.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from geoseg.cli.common import (
    err,
    names,
    out,
    outputs_in_place,
    pick,
    progress_bars,
    user_errors,
)
from geoseg.cli.options import (
    Aoi,
    Bands,
    BatchSize,
    Bbox,
    BboxCrs,
    ChunkSize,
    CloudMask,
    Confidence,
    DaskAddress,
    Device,
    Engine,
    GpuResources,
    Indices,
    Keep,
    Mask,
    MinArea,
    Model,
    NoCloudMask,
    Nodata,
    Offset,
    OutDir,
    Overlap,
    Overwrite,
    Precision,
    Probabilities,
    Quicklook,
    Resume,
    Scale,
    SclClasses,
    Simplify,
    Stac,
    TileSize,
    Tta,
    Vectorize,
    Workers,
)

if TYPE_CHECKING:
    from geoseg.run.classify import ClassifyResult

EXAMPLES = """
Examples:

  geoseg classify scene.tif -o out/

  geoseg classify products/ 'more/*.zip' -o out/

  geoseg classify S2B_MSIL2A_20230601T101609_N0509_R065_T32TQM_20230601T131209.SAFE.zip

  geoseg classify https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a/items/ID

  geoseg classify item.json --scl-classes 3,8,9,10,11 --keep fields.tif   # only inside fields

  geoseg classify scene.tif --mask buildings.tif   # leave the buildings out
  geoseg classify scene.tif --aoi commune.gpkg     # only inside the polygons
  geoseg classify scene.tif --bbox 13.0,42.7,13.2,42.9   # only inside a lon/lat box

  geoseg classify S2_crop_folder/ --model my_bundle/ --min-area 0.5

  geoseg classify scene.tif --probabilities --quicklook   # every class's %, and a PNG

  geoseg classify scene.tif --bands B02=1,B03=2,B04=3,B08=4 --offset -1000 --no-vectorize

  geoseg classify T32TQM.tif --dask-address tcp://scheduler:8786 --gpu-resources
"""

Scenes = Annotated[
    list[str],
    typer.Argument(
        help="GeoTIFF, folder of band GeoTIFFs, .SAFE folder, .zip product, or STAC item "
        "(.json file or URL). Several (paths, glob patterns, a folder of .SAFE/.zip products): "
        "each into its own subfolder of OUT_DIR, the rest done when one fails.",
        show_default=False,
    ),
]


def classify(
    scenes: Scenes,
    out_dir: OutDir = Path("geoseg-output"),
    model: Model = None,
    tile_size: TileSize = None,
    overlap: Overlap = None,
    batch_size: BatchSize = None,
    chunk_size: ChunkSize = 2048,
    tta: Tta = False,
    device: Device = "auto",
    precision: Precision = "auto",
    min_area: MinArea = 0.05,
    simplify: Simplify = 0.0,
    vectorize: Vectorize = True,
    confidence: Confidence = True,
    indices: Indices = "",
    probabilities: Probabilities = False,
    quicklook: Quicklook = False,
    bands: Bands = None,
    nodata: Nodata = None,
    offset: Offset = None,
    scale: Scale = None,
    mask: Mask = None,
    keep: Keep = None,
    aoi: Aoi = None,
    bbox: Bbox = None,
    bbox_crs: BboxCrs = "EPSG:4326",
    cloud_mask: CloudMask = "auto",
    no_cloud_mask: NoCloudMask = False,
    scl_classes: SclClasses = None,
    engine: Engine = "auto",
    dask_address: DaskAddress = None,
    workers: Workers = None,
    gpu_resources: GpuResources = False,
    resume: Resume = True,
    stac: Stac = True,
    overwrite: Overwrite = False,
) -> None:
    """Classify Sentinel-2 scenes into land-cover classes."""
    values = dict(locals())
    if no_cloud_mask:
        values["cloud_mask"] = "none"
    from geoseg.cli.many import current_outputs, expand, run_many
    from geoseg.io.read_options import ReadOptions
    from geoseg.run.classify import classify as run
    from geoseg.run.options import ComputeOptions, Options, OutputOptions, TilingOptions

    with user_errors():
        options = Options(
            tiling=TilingOptions(tile_size, overlap, chunk_size, batch_size, tta),
            compute=ComputeOptions(**pick(values, ComputeOptions)),
            output=OutputOptions(
                min_area_ha=min_area,
                simplify_m=simplify,
                vectorize=vectorize,
                confidence=confidence,
                indices=tuple(names(indices)),
                stac=stac,
                probabilities=probabilities,
                quicklook=quicklook,
                overwrite=overwrite,
            ),
        )
        read = ReadOptions.build(pick(values, ReadOptions))

        def run_one(scene: str, folder: Path) -> ClassifyResult:
            with progress_bars() as report:
                return run(scene, folder, model=model, options=options, progress=report, read=read)

        sources = expand(scenes)
        if sources == scenes and len(sources) == 1:
            result = run_one(sources[0], out_dir)
        else:
            current = partial(current_outputs, model=model, options=options, read=read)
            run_many(sources, out_dir, run_one, current if options.compute.resume else None)
            return
    with outputs_in_place():
        _print_summary(result)


def _print_summary(result: ClassifyResult) -> None:
    for warning in result.warnings:  # stderr, one line each, like errors
        err.print(f"geoseg: warning: {warning}", highlight=False, soft_wrap=True)
    valid_share = 100.0 * result.valid_pixels / max(result.total_pixels, 1)
    masked = (
        f", {100.0 * result.masked_share:.1f} % of the data masked" if result.masked_pixels else ""
    )
    reused = (
        f", reusing {result.reused_chunks} of {result.chunks} chunks an interrupted run finished"
        if result.reused_chunks
        else ""
    )
    out.print(
        f"Classified {result.total_pixels:,} pixels ({valid_share:.1f} % valid{masked}) "
        f"in {result.timings.get('total_s', 0):.1f} s{reused}.",
        soft_wrap=True,  # one line in logs too
    )
    table = Table(title="Class areas")
    for col in ("class", "pixels", "hectares", "share %", "polygons"):
        table.add_column(col, justify="left" if col == "class" else "right")
    df = result.stats
    for row in df.itertuples():
        polys = str(row.polygons) if "polygons" in df.columns else "-"
        table.add_row(
            str(row.class_name),
            f"{row.pixels:,}",
            f"{row.area_ha:,.2f}",
            f"{row.share_pct:.2f}",
            polys,
        )
    table.add_row("total", f"{int(df.pixels.sum()):,}", f"{df.area_ha.sum():,.2f}", "100.00", "")
    out.print(table)
    out.print("Outputs:")
    for path in result.outputs:
        out.print(f"  {path}", soft_wrap=True, highlight=False)
