"""The ``geoseg`` command: a thin shell over the library (``geoseg.classify`` and friends)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from geoseg.errors import GeosegError

app = typer.Typer(
    name="geoseg",
    help="Sentinel-2 land-cover maps: class COG rasters, GeoPackage polygons and area statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}

CLASSIFY_EXAMPLES = """
Examples:

  geoseg classify scene.tif -o out/

  geoseg classify S2B_MSIL2A_20230601T101609_N0509_R065_T32TQM_20230601T131209.SAFE.zip

  geoseg classify https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a/items/ID

  geoseg classify item.json --scl-classes 3,8,9,10,11 --mask fields_only.tif

  geoseg classify S2_crop_folder/ --model my_bundle/ --min-area 0.5

  geoseg classify scene.tif --bands B02=1,B03=2,B04=3,B08=4 --offset -1000 --no-vectorize

  geoseg classify T32TQM.tif --dask-address tcp://scheduler:8786 --gpu-resources
"""


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """One line and exit code 2 for expected failures; the traceback only with --debug."""
    try:
        yield
    except GeosegError as exc:
        if _state["debug"]:
            raise
        print(f"geoseg: error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("geoseg: interrupted: nothing was written at the output paths", file=sys.stderr)
        raise typer.Exit(130) from None


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _state["debug"] = debug


@app.command(epilog=CLASSIFY_EXAMPLES)
def classify(
    scene: Annotated[
        str,
        typer.Argument(
            help="GeoTIFF, folder of band GeoTIFFs, .SAFE folder, .zip product, or STAC item "
            "(.json file or URL)."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("-o", "--out-dir", help="Output folder.")] = Path(
        "geoseg-output"
    ),
    model: Annotated[
        Path | None, typer.Option("--model", help="Model bundle folder (default: shipped model).")
    ] = None,
    tile_size: Annotated[int | None, typer.Option(help="Tile size in pixels.")] = None,
    overlap: Annotated[int | None, typer.Option(help="Tile overlap in pixels.")] = None,
    batch_size: Annotated[int, typer.Option(help="Tiles per forward pass.")] = 8,
    chunk_size: Annotated[int, typer.Option(help="Chunk core size in pixels (memory).")] = 2048,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    min_area: Annotated[
        float, typer.Option(help="Minimum mapping unit for polygons, in hectares.")
    ] = 0.05,
    simplify: Annotated[float, typer.Option(help="Polygon simplification tolerance (m).")] = 0.0,
    vectorize: Annotated[bool, typer.Option(help="Write GeoPackage polygons.")] = True,
    confidence: Annotated[bool, typer.Option(help="Write the confidence raster.")] = True,
    indices: Annotated[
        str, typer.Option(help="Also write these index rasters, e.g. NDVI,NDWI.")
    ] = "",
    bands: Annotated[
        str | None, typer.Option(help="Band mapping: B02=1,B03=2… or B05=file.tif:1.")
    ] = None,
    nodata: Annotated[float | None, typer.Option(help="Input nodata value.")] = None,
    offset: Annotated[
        float | None, typer.Option(help="Radiometric offset in DN (e.g. -1000 for PB ≥ 04.00).")
    ] = None,
    scale: Annotated[float | None, typer.Option(help="Reflectance per DN (default 1e-4).")] = None,
    mask: Annotated[
        Path | None,
        typer.Option(help="Mask raster: nonzero pixels become nodata (any CRS/resolution)."),
    ] = None,
    cloud_mask: Annotated[
        bool, typer.Option(help="Mask clouds and shadows with the product's SCL band (L2A).")
    ] = True,
    scl_classes: Annotated[
        str | None,
        typer.Option(help="SCL classes to mask (default 3,8,9,10: shadow, clouds, cirrus)."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="auto, inprocess, local (Dask cluster here) or dask.")
    ] = "auto",
    dask_address: Annotated[
        str | None, typer.Option(help="Use an existing Dask cluster, e.g. tcp://HOST:8786.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local cluster workers (default: one per core).")
    ] = None,
    gpu_resources: Annotated[
        bool, typer.Option(help="Run chunks only on Dask workers with --resources GPU=1.")
    ] = False,
    resume: Annotated[
        bool, typer.Option(help="Keep finished chunks so a rerun after a crash resumes.")
    ] = True,
    stac: Annotated[
        bool, typer.Option(help="Write <scene>_item.json, a STAC item of the outputs.")
    ] = True,
) -> None:
    """Classify a Sentinel-2 scene into land-cover classes."""
    from geoseg.run.classify import Options
    from geoseg.run.classify import classify as run_classify

    options = Options(
        tile_size=tile_size,
        overlap=overlap,
        chunk_size=chunk_size,
        batch_size=batch_size,
        device=device,
        min_area_ha=min_area,
        simplify_m=simplify,
        vectorize=vectorize,
        confidence=confidence,
        indices=tuple(i.strip().upper() for i in indices.split(",") if i.strip()),
        engine=engine,
        dask_address=dask_address,
        workers=workers,
        gpu_resources=gpu_resources,
        resume=resume,
        stac=stac,
    )
    with _user_errors(), _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        result = run_classify(
            scene,
            out_dir,
            model=model,
            options=options,
            progress=report,
            bands=bands,
            nodata=nodata,
            offset=offset,
            scale=scale,
            mask=mask,
            scl_classes=scl_classes,
            cloud_mask=cloud_mask,
        )
    _print_summary(result)


@contextlib.contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,  # gone when done: the summary (or one error line) is what stays
        disable=not err.is_terminal,
    ) as progress:
        yield progress


def _print_summary(result: object) -> None:
    from geoseg.run.classify import ClassifyResult

    assert isinstance(result, ClassifyResult)
    valid_share = 100.0 * result.valid_pixels / max(result.total_pixels, 1)
    masked = (
        f", {100.0 * result.masked_share:.1f} % of the data masked" if result.masked_pixels else ""
    )
    out.print(
        f"Classified {result.total_pixels:,} pixels ({valid_share:.1f} % valid{masked}) "
        f"in {result.timings.get('total_s', 0):.1f} s."
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


@app.command()
def info(
    source: Annotated[
        str,
        typer.Argument(
            help="A scene (GeoTIFF, band folder, .SAFE, .zip, STAC item) or a model bundle."
        ),
    ],
) -> None:
    """Describe a scene (kind, product, grid, bands, scaling, masks) or a model bundle."""
    from geoseg.models.bundle import SPEC_FILE, load_bundle

    path = Path(source)
    with _user_errors():
        if "://" not in source and ((path / SPEC_FILE).is_file() or path.name == SPEC_FILE):
            bundle = load_bundle(path)
            spec = bundle.spec
            out.print(f"[bold]Model bundle[/bold] {bundle.path}")
            out.print(f"  name:         {spec.name}")
            out.print(f"  architecture: {spec.model.architecture} / {spec.model.encoder}")
            out.print(f"  inputs:       {', '.join(spec.channels)}")
            out.print(f"  tile/overlap: {spec.tile_size}/{spec.overlap}")
            out.print(f"  weights:      sha256 {bundle.sha256}")
            out.print("  classes:      " + ", ".join(f"{c.id} {c.name}" for c in spec.classes))
            for key, value in {**spec.provenance, **spec.metrics}.items():
                out.print(f"  {key}: {value}")
            return
        from geoseg.io.reader import open_scene

        scene = open_scene(source)
        g = scene.grid
        out.print(f"[bold]Scene[/bold] {scene.source}", soft_wrap=True, highlight=False)
        out.print(f"  kind:  {scene.kind}")
        for key, value in scene.provenance.items():
            label = key.removeprefix("S2_").lower().replace("_", " ") + ":"
            out.print(f"  {label:<22}{value}", soft_wrap=True, highlight=False)
        out.print(f"  grid:  {g.width} x {g.height} px, {g.res[0]:g} x {g.res[1]:g}, {g.crs}")
        b = g.transform * (0, 0), g.transform * (g.width, g.height)
        out.print(f"  bounds: {b[0][0]:.6g}, {b[1][1]:.6g}, {b[1][0]:.6g}, {b[0][1]:.6g}")
        table = Table(title="Bands")
        for col in ("band", "file", "index", "scale", "offset", "nodata"):
            table.add_column(col)
        for s in scene.bands.values():
            table.add_row(
                s.name,
                Path(s.path).name,
                str(s.index),
                f"{s.scale:g}",
                f"{s.offset:g}",
                str(s.nodata),
            )
        out.print(table)
        if scene.masks:
            for m in scene.masks:
                out.print(f"  mask:  {m.describe()} from {Path(m.path).name}", highlight=False)
        else:
            out.print("  mask:  none (no SCL band; use --mask FILE to mask pixels)")


def _register_training() -> None:
    from geoseg.cli.analyst import register as register_analyst
    from geoseg.cli.train import register

    register(app)
    register_analyst(app)


_register_training()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
