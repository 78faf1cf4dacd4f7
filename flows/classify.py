"""The flows: ``classify_scene`` (one scene) and ``classify_catalog`` (every scene a catalogue
names, skipping those already done with the same model and inputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from pydantic import BaseModel, ConfigDict, Field

from flows import tasks
from flows.tasks import Checked
from geoseg.errors import GeosegError
from geoseg.run.catalog import SceneRequest, is_done, load_catalog
from geoseg.run.paths import SEGMENT_FILES, SUMMARY_FILES


def _exist(paths: list[Path]) -> bool:
    return all(p.exists() for p in paths)


def _scene_run_name() -> str:
    """``classify-<scene name>`` rather than a random name, to find a scene's runs in the UI."""
    request = flow_run.parameters.get("request")
    scene = request.get("scene") if isinstance(request, dict) else getattr(request, "scene", "")
    return f"classify-{Path(str(scene)).name}"


@flow(name="classify-scene", flow_run_name=_scene_run_name, validate_parameters=True)
def classify_scene(request: SceneRequest) -> dict[str, Any]:
    """Classify one scene: class COG, confidence, polygons, area statistics and a report."""
    checked: Checked = tasks.validate_input(request)
    paths = checked.paths()
    written = paths.written(request.options.output)
    seg_files = [p for k, p in written.items() if k in SEGMENT_FILES]
    seg = tasks.segment.with_options(refresh_cache=not _exist(seg_files))(checked)
    vectors = None
    if request.options.output.vectorize:
        fresh = not _exist([paths.polygons])
        vectors = tasks.vectorize.with_options(refresh_cache=fresh)(checked, seg)
    stats_files = [p for k, p in written.items() if k in SUMMARY_FILES]
    result = tasks.statistics.with_options(refresh_cache=not _exist(stats_files))(
        checked, seg, vectors
    )
    return tasks.report(checked, result)


class CatalogRequest(BaseModel):
    """A catalogue run: the catalogue file and options that override every entry's."""

    model_config = ConfigDict(extra="forbid")

    catalog: str = Field("tiles/catalog.yaml", min_length=1)
    options: dict[str, Any] = Field(
        default_factory=dict, description="geoseg.Options fields overriding the catalogue's"
    )
    force: bool = Field(False, description="classify scenes already done as well")


class SceneOutcome(BaseModel):
    scene: str
    status: str  # done | skipped | failed
    detail: str = ""


@flow(name="classify-catalog", validate_parameters=True)
def classify_catalog(request: CatalogRequest | None = None) -> State[Any]:
    """Classify every scene of a catalogue not yet done; one failed scene does not stop the others.

    Ends Failed (after all scenes ran) when any scene failed, so schedules alert on it."""
    request = request or CatalogRequest.model_validate({})
    log = get_run_logger()
    scenes = load_catalog(request.catalog, request.options)
    outcomes: list[SceneOutcome] = []
    for scene in scenes:
        try:
            if not request.force and is_done(scene):
                log.info("%s: done with this model and these inputs, skipped", scene.scene)
                outcomes.append(SceneOutcome(scene=scene.scene, status="skipped"))
                continue
        except GeosegError as exc:
            outcomes.append(SceneOutcome(scene=scene.scene, status="failed", detail=str(exc)))
            log.error("%s failed: %s", scene.scene, exc)
            continue
        state = classify_scene(scene, return_state=True)
        if state.is_completed():
            outcomes.append(SceneOutcome(scene=scene.scene, status="done"))
        else:
            detail = _reason(state)
            outcomes.append(SceneOutcome(scene=scene.scene, status="failed", detail=detail))
            log.error("%s failed: %s", scene.scene, detail)
    failed = [o for o in outcomes if o.status == "failed"]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    create_markdown_artifact(
        "\n".join(
            [
                f"# Catalogue {request.catalog}",
                "",
                summary,
                "",
                "| scene | status | detail |",
                "|---|---|---|",
                *(f"| `{o.scene}` | {o.status} | {o.detail} |" for o in outcomes),
            ]
        )
        + "\n",
        key="geoseg-catalog",
        description=f"geoseg catalogue run: {summary}",
    )
    data = [o.model_dump() for o in outcomes]
    if failed:
        return Failed(message=f"{len(failed)} of {len(outcomes)} scenes failed", data=data)
    return Completed(message=summary, data=data)


def _reason(state: State[Any]) -> str:
    """The one line that says why a scene failed (a GeosegError's what/where/remedy)."""
    try:
        state.result()
    except Exception as exc:  # the flow's own exception, re-raised from its state
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return state.message or state.name or "failed"
