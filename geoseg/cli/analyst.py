"""``geoseg sample``, ``geoseg area-estimate`` and ``geoseg zonal``: thin commands over
:mod:`geoseg.analysis.sampling` and :mod:`geoseg.analysis.zonal`, registered on the main app
by :func:`register`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geoseg.errors import InputError, OutputError

out = Console()

SAMPLE_EXAMPLES = """
Examples:

  geoseg sample out/scene_classes.tif -o points.gpkg -n 600 --min-per-class 50 --seed 1

  geoseg sample out/scene_classes.tif -o points.csv -n 300 --allocation equal

  geoseg sample out/scene_classes.tif -o points.gpkg -n 500 --per-class water=50,built=100
"""

AREA_EXAMPLES = """
Examples:

  geoseg area-estimate out/scene_classes.tif points_labelled.gpkg --json areas.json

  geoseg area-estimate out/scene_classes.tif points.csv --reference-column truth --csv areas.csv
"""

ZONAL_EXAMPLES = """
Examples:

  geoseg zonal fields.gpkg out/s2_20210501_classes.tif out/s2_20210501_indices.tif -o fields.gpkg

  geoseg zonal fields.gpkg scene_may.tif scene_june.tif -o ndvi.csv --indices NDVI

  geoseg zonal fields.gpkg a.tif b.tif --date 2021-05-01 --date 2021-06-01 -o s.csv --id-field name
"""


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    from geoseg.cli.main import _user_errors

    with _user_errors():
        yield


def _per_class(text: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, size = item.partition("=")
        if not sep or not size.strip().isdigit():
            raise InputError(
                f"cannot parse per-class size {item!r}", "--per-class", "write e.g. water=50"
            )
        sizes[name.strip()] = int(size)
    return sizes


def register(app: typer.Typer) -> None:
    """Add the ``sample``, ``area-estimate`` and ``zonal`` commands to ``app``."""

    @app.command(epilog=SAMPLE_EXAMPLES)
    def sample(
        raster: Annotated[Path, typer.Argument(help="Class raster (<scene>_classes.tif).")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Points .gpkg or .csv.")],
        n: Annotated[int, typer.Option("-n", help="Total number of points.")] = 500,
        allocation: Annotated[
            str, typer.Option(help="proportional (to mapped area) or equal.")
        ] = "proportional",
        min_per_class: Annotated[
            int, typer.Option(help="At least this many points in every mapped class.")
        ] = 0,
        per_class: Annotated[
            str, typer.Option(help="Fixed sizes for some classes, e.g. water=50,built=100.")
        ] = "",
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same points).")] = 0,
    ) -> None:
        """Draw a stratified random sample of points (map classes as strata) to label."""
        from geoseg.analysis.sampling import draw_sample, write_points

        with _errors():
            points = draw_sample(raster, n, allocation, min_per_class, _per_class(per_class), seed)
            path = write_points(points, output)
        table = Table(title=f"{len(points)} points")
        table.add_column("map class")
        table.add_column("points", justify="right")
        for name, count in points["map_class"].value_counts(sort=False).items():
            table.add_row(str(name), str(count))
        out.print(table)
        out.print(f"Label the reference_class column, then run geoseg area-estimate: {path}")

    @app.command("area-estimate", epilog=AREA_EXAMPLES)
    def area_estimate(
        raster: Annotated[Path, typer.Argument(help="Class raster the sample was drawn from.")],
        sample_file: Annotated[
            Path, typer.Argument(help="Labelled sample (.gpkg or .csv from geoseg sample).")
        ],
        reference_column: Annotated[
            str, typer.Option(help="Column holding the reference class (name or id).")
        ] = "reference_class",
        confidence: Annotated[float, typer.Option(help="Confidence level of intervals.")] = 0.95,
        json_path: Annotated[Path | None, typer.Option("--json", help="Write JSON.")] = None,
        csv_path: Annotated[Path | None, typer.Option("--csv", help="Write CSV.")] = None,
    ) -> None:
        """Area per class with confidence intervals (Olofsson et al. 2014) beside pixel counts."""
        report_area_estimate(raster, sample_file, reference_column, confidence, json_path, csv_path)

    @app.command(epilog=ZONAL_EXAMPLES)
    def zonal(
        fields: Annotated[Path, typer.Argument(help="Field polygons (GeoPackage, GeoJSON...).")],
        rasters: Annotated[
            list[Path],
            typer.Argument(help="Class rasters, index rasters (--indices) or scenes, any dates."),
        ],
        output: Annotated[Path, typer.Option("-o", "--output", help="Output .gpkg or .csv.")],
        date: Annotated[
            list[str] | None,
            typer.Option(help="Date of each raster, in order (default: metadata or file name)."),
        ] = None,
        indices: Annotated[
            str, typer.Option(help="Indices computed from scenes, e.g. NDVI,NDWI.")
        ] = "NDVI,NDWI",
        id_field: Annotated[
            str | None, typer.Option(help="Field id column (default: row number).")
        ] = None,
        layer: Annotated[str | None, typer.Option(help="Layer of the fields file.")] = None,
        bands: Annotated[
            str | None, typer.Option(help="Band mapping for scenes: B02=1,B03=2...")
        ] = None,
        nodata: Annotated[float | None, typer.Option(help="Scene nodata value.")] = None,
        offset: Annotated[float | None, typer.Option(help="Scene radiometric offset (DN).")] = None,
        scale: Annotated[float | None, typer.Option(help="Scene reflectance per DN.")] = None,
    ) -> None:
        """Per field and date: class shares and index statistics (mean, median, p10, p90)."""
        from geoseg.analysis.zonal import read_fields, write_zonal, zonal_stats

        names = [i.strip().upper() for i in indices.split(",") if i.strip()]
        with _errors():
            table = zonal_stats(
                read_fields(fields, layer),
                rasters,
                dates=date or None,
                indices=names,
                id_field=id_field,
                bands=bands,
                nodata=nodata,
                offset=offset,
                scale=scale,
            )
            path = write_zonal(table, output)
        n_dates = table["date"].nunique(dropna=False)
        out.print(
            f"{table.shape[0]} rows ({len(table) // max(n_dates, 1)} fields x {n_dates} date(s)), "
            f"{table.shape[1] - 1} columns: {path}",
            highlight=False,
        )


def _fmt(v: object) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return "-" if f != f else f"{f:.3f}"


def report_area_estimate(
    raster: Path,
    sample_file: Path,
    reference_column: str = "reference_class",
    confidence: float = 0.95,
    json_path: Path | None = None,
    csv_path: Path | None = None,
) -> None:
    """Print (and optionally write) the area estimate; shared by ``area-estimate`` and
    ``evaluate --area-estimate``."""
    from geoseg.analysis.sampling import area_estimate as run

    with _errors():
        est = run(raster, sample_file, reference_column, confidence)
        for path, text in (
            (json_path, lambda: json.dumps(est.to_dict(), indent=2) + "\n"),
            (csv_path, lambda: est.table.to_csv(index=False)),
        ):
            if path is not None:
                try:
                    path.write_text(text())
                except OSError as exc:
                    raise OutputError("cannot write", path, str(exc.strerror or exc)) from exc
    pct = f"{100 * confidence:g} %"
    table = Table(title=f"Area estimates ({pct} intervals, Olofsson et al. 2014)")
    for col in ("class", "mapped ha", "points", "estimated ha", f"± ha ({pct})", "UA", "PA"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in est.table.itertuples():
        table.add_row(
            str(row.class_name),
            f"{row.mapped_area_ha:,.2f}",
            str(row.sample_points),
            f"{row.estimated_area_ha:,.2f}",
            f"{row.ci_ha:,.2f}",
            _fmt(row.users_accuracy),
            _fmt(row.producers_accuracy),
        )
    out.print(table)
    out.print(
        f"Overall accuracy {est.overall_accuracy:.3f} ± {est.overall_accuracy_ci:.3f} "
        "(against the sample's reference labels)"
    )


__all__ = ["register"]
