import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import TaskRun
from prefect.client.schemas.sorting import ArtifactSort
from prefect.exceptions import ParameterTypeError
from prefect.states import State

import geoseg
from flows.classify import CatalogRequest, classify_catalog, classify_scene
from flows.tasks import artifact_key
from geoseg.run.catalog import SceneRequest
from geoseg.run.classify import Options
from tests.conftest import BEIRUT, NORCIA, make_bundle

pytestmark = pytest.mark.usefixtures("prefect_harness")


def task_runs(state: State[Any]) -> dict[str, TaskRun]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
    return {r.name.rsplit("-", 1)[0]: r for r in runs}


def artifact(key: str) -> Any:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    assert found, key
    return found[0].data


def test_scene_flow_writes_what_classify_writes_and_reports(
    tmp_path: Path, bundle_dir: Path
) -> None:
    req = SceneRequest(scene=str(NORCIA), out_dir=str(tmp_path / "flow"), model=str(bundle_dir))
    summary = classify_scene(req)
    direct = geoseg.classify(NORCIA, tmp_path / "direct", model=bundle_dir)
    assert [Path(p).name for p in summary["outputs"]] == [p.name for p in direct.outputs]
    flow_csv = tmp_path / "flow" / direct.stats_csv.name
    assert flow_csv.read_text() == direct.stats_csv.read_text()
    assert not [p for p in (tmp_path / "flow").iterdir() if p.name.startswith(".geoseg")]

    stem = direct.classes.name.removesuffix("_classes.tif")
    markdown = artifact(artifact_key(stem))
    assert f"# {stem}" in markdown and str(direct.classes.name) in markdown
    rows = artifact(artifact_key(stem, "-areas"))
    rows = rows if isinstance(rows, list) else json.loads(rows)
    assert [r["pixels"] for r in rows] == direct.stats["pixels"].tolist()


def test_cached_while_outputs_exist_recomputed_when_deleted(
    tmp_path: Path, bundle_dir: Path
) -> None:
    req = SceneRequest(scene=str(NORCIA), out_dir=str(tmp_path), model=str(bundle_dir))
    first = task_runs(classify_scene(req, return_state=True))
    assert first["segment"].state_name == "Completed"
    second = task_runs(classify_scene(req, return_state=True))
    assert {second[t].state_name for t in ("segment", "vectorize", "statistics")} == {"Cached"}
    (classes,) = tmp_path.glob("*_classes.tif")
    classes.unlink()
    third = task_runs(classify_scene(req, return_state=True))
    assert third["segment"].state_name == "Completed" and classes.exists()
    other = req.model_copy(update={"options": Options(min_area_ha=1.0)})
    fourth = task_runs(classify_scene(other, return_state=True))
    assert fourth["segment"].state_name == "Completed"  # options are part of the key


@pytest.mark.parametrize(
    "request_",
    [
        {"scene": 5},
        {"scene": ""},
        {"scene": "a.tif", "options": {"min_area_ha": "lots"}},
        {"scene": "a.tif", "options": {"tile": 3}},
        {"scene": "a.tif", "options": {"indices": ["NDXI"]}},  # options are checked when built
        {"scene": "a.tif", "colour": "red"},
    ],
)
def test_wrongly_typed_parameters_are_refused_before_the_run(request_: dict[str, Any]) -> None:
    with pytest.raises(ParameterTypeError):
        classify_scene(request_)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"scene": "missing.tif"}, "not found"),
        ({"scene": str(NORCIA), "model": "no/such/model"}, "model"),
        # the shipped bundle overlaps 32 px: more than half a 32 px tile
        ({"scene": str(NORCIA), "options": {"tile_size": 32}}, "--overlap 32"),
    ],
)
def test_bad_input_fails_fast_without_retries(
    tmp_path: Path, request_: dict[str, Any], message: str
) -> None:
    state = classify_scene(
        SceneRequest.model_validate({**request_, "out_dir": str(tmp_path)}), return_state=True
    )
    assert state.is_failed()
    with pytest.raises(geoseg.GeosegError, match=message):
        state.result()
    runs = task_runs(state)
    assert runs["validate-input"].run_count == 1 and "segment" not in runs
    assert list(tmp_path.iterdir()) == []


def test_catalogue_run_isolates_failures_and_skips_done_scenes(
    tmp_path: Path, bundle_dir: Path
) -> None:
    cat = tmp_path / "catalog.yaml"
    cat.write_text(
        f"""
out_dir: out
model: {bundle_dir}
scenes:
  - scene: {NORCIA}
  - scene: {tmp_path / "missing.tif"}
  - scene: {BEIRUT}
    options: {{min_area_ha: 1}}
"""
    )
    request = CatalogRequest(catalog=str(cat))
    state = classify_catalog(request, return_state=True)
    assert state.is_failed() and state.message == "1 of 3 scenes failed"
    report = artifact("geoseg-catalog")
    assert "2 done, 0 skipped, 1 failed" in report and "missing.tif" in report
    assert "not found" in report
    assert (tmp_path / "out" / NORCIA.name).is_dir() and (tmp_path / "out" / BEIRUT.name).is_dir()

    again = classify_catalog(request, return_state=True)
    assert again.is_failed()
    assert "0 done, 2 skipped, 1 failed" in artifact("geoseg-catalog")


def test_catalogue_with_only_good_scenes_completes(tmp_path: Path, bundle_dir: Path) -> None:
    cat = tmp_path / f"{uuid.uuid4().hex}.yaml"
    cat.write_text(f"model: {bundle_dir}\nscenes:\n  - scene: {NORCIA}\n")
    state = classify_catalog(CatalogRequest(catalog=str(cat)), return_state=True)
    assert state.is_completed()
    assert state.result() == [{"scene": str(NORCIA), "status": "done", "detail": ""}]


def test_bad_catalogue_fails_the_run_with_its_reason(tmp_path: Path) -> None:
    cat = tmp_path / "catalog.yaml"
    cat.write_text("scenes: [{scene: a, watch: b}]")
    state = classify_catalog(CatalogRequest(catalog=str(cat)), return_state=True)
    assert state.is_failed()
    with pytest.raises(geoseg.GeosegError, match="exactly one of 'scene' or 'watch'"):
        state.result()


def test_report_says_what_changed_since_the_previous_run(tmp_path: Path, bundle_dir: Path) -> None:
    make_bundle(tmp_path / "retrained", seed=1)
    first = SceneRequest(scene=str(NORCIA), out_dir=str(tmp_path / "out"), model=str(bundle_dir))
    before = classify_scene(first)
    assert "change_ha" not in before["classes"][0]
    again = classify_scene(first)  # same inputs and model: nothing to compare with
    assert "change_ha" not in again["classes"][0]
    after = classify_scene(first.model_copy(update={"model": str(tmp_path / "retrained")}))
    for old, new in zip(before["classes"], after["classes"], strict=True):
        assert new["change_ha"] == pytest.approx(new["area_ha"] - old["area_ha"], abs=0.011)
    assert any(r["change_ha"] != 0 for r in after["classes"])
    (stem,) = {p.name.removesuffix("_stats.csv") for p in (tmp_path / "out").glob("*_stats.csv")}
    assert "change (ha)" in artifact(artifact_key(stem))
