"""``geoseg area-estimate``: error-adjusted areas with confidence intervals from a labelled sample
(:func:`geoseg.analysis.sampling.area_estimate`, Olofsson et al. 2014)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geoseg.cli.common import out, user_errors
from geoseg.errors import OutputError

EXAMPLES = """
Examples:

  geoseg area-estimate out/scene_classes.tif points_labelled.gpkg --json areas.json

  geoseg area-estimate out/scene_classes.tif points.csv --reference-column truth --csv areas.csv
"""

Raster = Annotated[Path, typer.Argument(help="Class raster the sample was drawn from.")]
SampleFile = Annotated[
    Path, typer.Argument(help="Labelled sample (.gpkg or .csv from geoseg sample).")
]
ReferenceColumn = Annotated[
    str, typer.Option(help="Column holding the reference class (name or id).")
]
Confidence = Annotated[float, typer.Option(help="Confidence level of intervals.")]
JsonPath = Annotated[Path | None, typer.Option("--json", help="Write JSON.")]
CsvPath = Annotated[Path | None, typer.Option("--csv", help="Write CSV.")]


def area_estimate(
    raster: Raster,
    sample_file: SampleFile,
    reference_column: ReferenceColumn = "reference_class",
    confidence: Confidence = 0.95,
    json_path: JsonPath = None,
    csv_path: CsvPath = None,
) -> None:
    """Area per class with confidence intervals (Olofsson et al. 2014) beside pixel counts."""
    report_area_estimate(raster, sample_file, reference_column, confidence, json_path, csv_path)


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

    with user_errors():
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


def _fmt(v: object) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return "-" if f != f else f"{f:.3f}"
