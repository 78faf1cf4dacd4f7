"""``geoseg info``: what a scene, a model bundle or a geoseg output raster holds, as the library
reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geoseg.cli.common import out, print_precisions, user_errors

Source = Annotated[
    str,
    typer.Argument(
        help="A scene (GeoTIFF, band folder, .SAFE, .zip, STAC item), a model bundle, or a "
        "raster geoseg classify wrote (classes, confidence, indices)."
    ),
]


def info(source: Source) -> None:
    """Describe a scene (kind, product, grid, bands, scaling, masks), a model bundle, or a geoseg
    output raster (classes with their colours and shares, the model and scene that made it)."""
    from geoseg.models.bundle import SPEC_FILE

    path = Path(source)
    with user_errors():
        if "://" not in source and ((path / SPEC_FILE).is_file() or path.name == SPEC_FILE):
            _describe_bundle(path)
        elif "://" not in source and (tags := _geoseg_tags(path)) is not None:
            _describe_output(path, tags)
        else:
            _describe_scene(source)


def _describe_bundle(path: Path) -> None:
    from geoseg.models.bundle import load_bundle

    bundle = load_bundle(path)
    spec = bundle.spec
    out.print(f"[bold]Model bundle[/bold] {bundle.path}")
    out.print(f"  name:         {spec.name}")
    out.print(f"  architecture: {spec.model.architecture} / {spec.model.encoder}")
    out.print(f"  inputs:       {', '.join(spec.channels)}")
    out.print(f"  tile/overlap: {spec.tile_size}/{spec.overlap}")
    out.print(f"  weights:      sha256 {bundle.sha256}")
    out.print("  classes:      " + ", ".join(f"{c.id} {c.name}" for c in spec.classes))
    out.print(f"  levels:       {', '.join(spec.processing_levels)} (Sentinel-2 processing)")
    if spec.temperature != 1.0:
        out.print(f"  temperature:  {spec.temperature:g} (calibrated confidence)")
    print_precisions(bundle)
    for key, value in {**spec.provenance, **spec.metrics}.items():
        out.print(f"  {key}: {value}")
    if spec.known_limits:
        out.print("[bold]Known limits[/bold]")
        for limit in spec.known_limits:
            out.print(f"  - {limit}", highlight=False)


def _describe_scene(source: str) -> None:
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
            s.name, Path(s.path).name, str(s.index), f"{s.scale:g}", f"{s.offset:g}", str(s.nodata)
        )
    out.print(table)
    if scene.masks:
        for m in scene.masks:
            origin = f" from {Path(m.path).name}" if m.path else ""  # a --bbox has no file
            out.print(f"  mask:  {m.describe()}{origin}", highlight=False)
    else:
        out.print(
            "  mask:  none (clouds are masked by an SCL band (L2A) or detected in scenes "
            "holding B02, B03, B04 and B08; use --mask FILE to mask pixels)"
        )


def _geoseg_tags(path: Path) -> dict[str, str] | None:
    """The tags of a raster geoseg wrote (legend or model tag), else None: a scene then."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    from geoseg.classes import LEGEND_TAG

    if not path.is_file():
        return None
    try:
        with warnings.catch_warnings():  # a scene without georeferencing: the reader says so
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(path)
        with ds:
            tags = ds.tags()
    except RasterioError:
        return None  # the scene reader says what is wrong with it
    return tags if LEGEND_TAG in tags or "GEOSEG_MODEL" in tags else None


def _describe_output(path: Path, tags: dict[str, str]) -> None:
    """Provenance and grid of a geoseg raster, then what its values say."""
    import rasterio

    from geoseg.dates import raster_date
    from geoseg.io.class_raster import UNITS_TAG, not_class_values

    with rasterio.open(path) as ds:
        problem, units, crs, res = not_class_values(ds), tags.get(UNITS_TAG), ds.crs, ds.res
        width, height, b, descriptions = ds.width, ds.height, ds.bounds, ds.descriptions
    title = "Class raster" if problem is None else "Confidence raster" if units else "Raster"
    out.print(f"[bold]{title}[/bold] {path}", soft_wrap=True, highlight=False)
    sha, kind, version = (
        tags.get(f"GEOSEG_{k}") for k in ("MODEL_SHA256", "SOURCE_KIND", "VERSION")
    )
    rows = {
        "model": _join(tags.get("GEOSEG_MODEL"), sha and f"(weights sha256 {sha[:12]}…)"),
        "scene": _join(tags.get("GEOSEG_SOURCE"), kind and f"({kind})"),
        "date": str(raster_date(path, {k.upper(): v for k, v in tags.items()}) or ""),
        "written by": version and f"geoseg {version}",
        "tile/overlap": tags.get("GEOSEG_TILE"),
        "masks": tags.get("GEOSEG_MASKS"),
        "cloud mask": _cloud_line(tags),
        "values": units,
    }
    for key, value in tags.items():  # product facts of SAFE and STAC inputs
        if key.startswith("S2_"):
            rows[key.removeprefix("S2_").lower().replace("_", " ")] = value
    for label, text in rows.items():
        if text:
            out.print(f"  {label + ':':<22}{text}", soft_wrap=True, highlight=False)
    out.print(f"  grid:  {width} x {height} px, {res[0]:g} x {res[1]:g}, {crs}")
    out.print(f"  bounds: {b.left:.6g}, {b.bottom:.6g}, {b.right:.6g}, {b.top:.6g}")
    if problem is None:
        _print_classes(path, width * height, _masked_pixels(path))
    elif units:
        _print_confidence(path)
    else:
        out.print("  bands: " + ", ".join(d or f"band {i}" for i, d in enumerate(descriptions, 1)))


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _cloud_line(tags: dict[str, str]) -> str | None:
    """``csmask (cloud 8.60 %, shadow 8.80 % of the scene's data)`` from the run's tags."""
    method = tags.get("GEOSEG_CLOUD_MASK")
    if method is None:
        return None
    shares = [
        f"{what} {tags[key]} %"
        for what, key in (("cloud", "GEOSEG_CLOUD_PCT"), ("shadow", "GEOSEG_SHADOW_PCT"))
        if key in tags
    ]
    return method + (f" ({', '.join(shares)} of the scene's data)" if shares else "")


def _masked_pixels(path: Path) -> int | None:
    """Pixels with data that masks made nodata, from the run's stats JSON beside a class
    raster (the raster holds 255 for both); None without one."""
    from geoseg.run.identity import RunSummary

    stem = path.name.removesuffix("_classes.tif")
    summary = RunSummary.load(path.with_name(f"{stem}_stats.json"))
    return None if summary is None else summary.masked_pixels


def _print_classes(path: Path, n_pixels: int, masked: int | None = None) -> None:
    """The legend with each class's pixels, area and share of the mapped area, counted in strips."""
    from geoseg.analysis.sampling import mapped_areas
    from geoseg.io.class_raster import read_legend

    legend = read_legend(path)
    if not legend.names:
        out.print("  classes: no legend (not written by geoseg classify?)")
        return
    areas = mapped_areas(path, len(legend.names))
    total = int(areas["pixels"].sum())
    if masked is None:
        title = f"Classes ({total:,} px mapped, {n_pixels - total:,} nodata)"
    else:
        nodata = n_pixels - total - masked
        title = f"Classes ({total:,} px mapped, {masked:,} masked, {nodata:,} nodata)"
    table = Table(title=title)
    for col in ("id", "class", "colour", "pixels", "area ha", "share %"):
        table.add_column(col, justify="left" if col in ("class", "colour") else "right")
    for i, name in enumerate(legend.names):
        colour = legend.colors[i] if i < len(legend.colors) else "-"
        swatch = f"[{colour}]■[/] {colour}" if colour != "-" else colour
        px, ha = int(areas["pixels"][i]), float(areas["area_ha"][i])
        share = f"{100 * px / total:.2f}" if total else "-"
        table.add_row(str(i), name, swatch, f"{px:,}", f"{ha:,.2f}", share)
    out.print(table)


def _print_confidence(path: Path) -> None:
    """Mean, median and the share of low-confidence pixels, from a histogram counted in strips."""
    import numpy as np

    from geoseg.analysis.sampling import mapped_areas

    counts = mapped_areas(path, 101)["pixels"].to_numpy()  # percent values 0..100
    total = int(counts.sum())
    if not total:
        out.print("  confidence: no valid pixels")
        return
    values = np.arange(101)
    median = int(values[np.searchsorted(np.cumsum(counts), (total + 1) / 2)])
    low = 100 * counts[:50].sum() / total
    out.print(
        f"  confidence: mean {float(values @ counts) / total:.1f} %, median {median} %, "
        f"{low:.1f} % of {total:,} px below 50 %"
    )
