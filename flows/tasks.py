"""Prefect tasks over geoseg's stages: validate → segment → vectorize → statistics → report.

Tasks hand each other file paths and small records, never arrays; chunk parallelism stays inside
the segment task's engine (in-process or Dask), not in Prefect. A task's cached result is keyed on
the input files' identity, the model hash and the options that change the outputs, and is reused
only while the files it wrote are still there (the flow refreshes it otherwise).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State
from pydantic import BaseModel

from geoseg.errors import GeosegError
from geoseg.run import classify as run
from geoseg.run.catalog import SceneRequest
from geoseg.run.identity import RunSummary, result_options, run_key, source_identity
from geoseg.run.paths import RunPaths
from geoseg.run.results import ClassifyResult, Segmentation, Vectors


class Checked(BaseModel):
    """A request that passed validation, with what identifies its result."""

    request: SceneRequest
    stem: str
    width: int
    height: int
    model_name: str
    fingerprint: str  # input files + model hash + result options + output folder
    previous: dict[str, float] | None = None  # class → ha of an earlier run on other inputs

    def paths(self) -> RunPaths:
        return RunPaths(Path(self.request.out_dir), self.stem)


def transient(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry I/O hiccups and lost workers, never bad input: that fails the same way again."""
    return not isinstance(state.data, GeosegError)


RETRY: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": [5, 30],
    "retry_condition_fn": transient,
}


def _cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    checked: Checked = parameters["checked"]
    return f"geoseg-{context.task.name}-{checked.fingerprint}"


CACHED: dict[str, Any] = {"cache_key_fn": _cache_key, "persist_result": True}


@task(name="validate-input")
def validate_input(request: SceneRequest) -> Checked:
    """Open the scene and the model and check the options and bands before anything is written."""
    scene, bundle, opts = run.check_inputs(
        request.scene, request.model, request.options, request.read
    )
    out_dir = Path(request.out_dir).resolve()
    if "://" not in request.scene:  # URLs of STAC items stay as they are
        request = request.model_copy(update={"scene": str(Path(request.scene).resolve())})
    source_id = source_identity(scene)
    paths = RunPaths.for_scene(out_dir, scene)
    run.check_outputs(paths, scene, opts.output.overwrite)  # another scene's outputs: refused
    checked = Checked(
        request=request.model_copy(update={"out_dir": str(out_dir)}),
        stem=paths.stem,
        width=scene.grid.width,
        height=scene.grid.height,
        model_name=bundle.spec.name,
        fingerprint=run_key(source_id, bundle.sha256, result_options(opts, bundle), out_dir),
        previous=_previous_areas(paths.stats_json, source_id, bundle.sha256),
    )
    get_run_logger().info(
        "%s: %d × %d px, model %s, outputs in %s",
        request.scene,
        checked.width,
        checked.height,
        bundle.spec.name,
        out_dir,
    )
    return checked


def _previous_areas(stats_json: Path, source_id: str, model_sha: str) -> dict[str, float] | None:
    """Class areas of the run whose outputs are about to be replaced, if it classified other
    inputs (yesterday's scene at the same place) or used another model: what changed."""
    summary = RunSummary.load(stats_json)
    if summary is None or summary.same_inputs(source_id, model_sha):
        return None
    return summary.areas_ha()


@task(name="segment", **RETRY, **CACHED)
def segment(checked: Checked) -> Segmentation:
    """Class, confidence and index COGs, through the engine the options name (Dask included)."""
    log = get_run_logger()
    shown = [-1]

    def progress(phase: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if phase == "classify" and tenth > shown[0]:
            shown[0] = tenth
            log.info("classified %d of %d chunks", done, total)

    req = checked.request
    seg = run.segment(req.scene, req.out_dir, req.model, req.options, progress, req.read)
    log.info("class raster %s (%.1f s)", seg.classes, seg.timings.get("classify_s", 0.0))
    return seg


@task(name="vectorize", **RETRY, **CACHED)
def vectorize(checked: Checked, seg: Segmentation) -> Vectors:
    """Polygons per class region into the GeoPackage."""
    vectors = run.vectorize(seg, checked.request.options)
    get_run_logger().info("%d polygons in %s", sum(vectors.polygons_per_class), vectors.path)
    return vectors


@task(name="statistics", **RETRY, **CACHED)
def statistics(checked: Checked, seg: Segmentation, vectors: Vectors | None) -> ClassifyResult:
    """The class-area table as CSV, JSON and a GeoPackage table."""
    result = run.summarize(seg, vectors)
    get_run_logger().info("area statistics in %s", result.stats_csv)
    return result


def artifact_key(stem: str, suffix: str = "") -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"geoseg-{stem}{suffix}".lower()).strip("-")


@task(name="report")
def report(checked: Checked, result: ClassifyResult) -> dict[str, Any]:
    """A markdown summary and a table of class areas as Prefect artifacts; a small dict back."""
    rows: list[dict[str, Any]] = [
        {
            "class": str(r["class_name"]),
            "pixels": int(r["pixels"]),
            "area_ha": round(float(r["area_ha"]), 2),
            "share_pct": round(float(r["share_pct"]), 2),
        }
        for r in result.stats.to_dict(orient="records")
    ]
    if checked.previous is not None:
        for row in rows:
            before = checked.previous.get(str(row["class"]), 0.0)
            row["change_ha"] = round(float(row["area_ha"]) - before, 2)
    create_table_artifact(
        rows,
        key=artifact_key(checked.stem, "-areas"),
        description=f"Class areas of {checked.request.scene} (model {checked.model_name})",
    )
    valid_pct = 100.0 * result.valid_pixels / max(result.total_pixels, 1)
    lines = [
        f"# {checked.stem}",
        "",
        f"- scene: `{checked.request.scene}` ({checked.width} × {checked.height} px)",
        f"- model: `{checked.model_name}`",
        f"- valid pixels: {result.valid_pixels:,} ({valid_pct:.1f} %)",
        *(["- change: since the previous run in this folder"] if checked.previous else []),
        "",
        *_area_table(rows),
        "",
        "Outputs:",
        "",
        *(f"- `{p}`" for p in result.outputs),
    ]
    markdown = "\n".join(lines) + "\n"
    create_markdown_artifact(
        markdown, key=artifact_key(checked.stem), description=f"geoseg run of {checked.stem}"
    )
    return {
        "scene": checked.request.scene,
        "outputs": [str(p) for p in result.outputs],
        "valid_pixels": result.valid_pixels,
        "classes": rows,
    }


def _area_table(rows: list[dict[str, Any]]) -> list[str]:
    change = all("change_ha" in r for r in rows)
    head = "| class | area (ha) | share (%) |" + (" change (ha) |" if change else "")
    lines = [head, "|---|---:|---:|" + ("---:|" if change else "")]
    for r in rows:
        line = f"| {r['class']} | {r['area_ha']:,.2f} | {r['share_pct']:.2f} |"
        lines.append(line + (f" {r['change_ha']:+,.2f} |" if change else ""))
    return lines
