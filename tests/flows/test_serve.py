"""Deployments built offline: schedules, parameter schemas and their validation, prefect.yaml."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate

from flows.serve import NIGHTLY_CRON, build_deployments

REPO = Path(__file__).resolve().parents[2]


def schema_of(deployment: Any) -> dict[str, Any]:
    """The parameter schema the deployment registers with the server."""
    return deployment._parameter_openapi_schema.model_dump(exclude_unset=True)


def errors(params: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    return [e.message for e in validate(params, schema)]


def test_nightly_catalogue_deployment_and_on_demand_scene_deployment() -> None:
    nightly, on_demand = build_deployments(catalog="tiles/catalog.yaml", timezone="Europe/Rome")
    assert (nightly.name, on_demand.name) == ("nightly", "on-demand")
    (sched,) = nightly.schedules
    assert isinstance(sched.schedule, CronSchedule)
    assert (sched.schedule.cron, sched.schedule.timezone) == (NIGHTLY_CRON, "Europe/Rome")
    assert nightly.parameters == {"request": {"catalog": "tiles/catalog.yaml", "options": {}}}
    assert not on_demand.schedules
    assert errors(nightly.parameters, schema_of(nightly)) == []


def test_scene_parameter_schema_validates_like_the_server_does() -> None:
    (_, on_demand) = build_deployments()
    schema = schema_of(on_demand)
    assert schema["required"] == ["request"]
    good = {"request": {"scene": "a.tif", "options": {"min_area_ha": 0.5, "indices": ["NDVI"]}}}
    assert errors(good, schema) == []
    assert any("'scene' is a required property" in m for m in errors({"request": {}}, schema))
    assert errors({"request": {"scene": 5}}, schema)
    assert errors({"request": {"scene": "a.tif", "options": {"min_area_ha": "lots"}}}, schema)
    assert errors({"request": {"scene": "a.tif", "engine": "fast"}}, schema)  # unknown field


def test_an_invalid_cron_is_refused() -> None:
    with pytest.raises(ValueError, match="cron"):
        build_deployments(cron="every night")


@pytest.mark.parametrize(
    "deployment",
    yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())["deployments"],
    ids=lambda d: d["name"],
)
def test_prefect_yaml_deployments_load_and_validate(
    deployment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # `prefect deploy` runs from the repository root
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    schema = parameter_schema(flow).model_dump_for_openapi()
    params = deployment.get("parameters", {})
    # on-demand runs get their parameters when triggered
    assert [e.message for e in validate(params, schema, ignore_required=not params)] == []
    for sched in deployment.get("schedules", []):
        CronSchedule(cron=sched["cron"], timezone=sched["timezone"])
    assert deployment["work_pool"]["name"] in ("geoseg-cpu", "geoseg-gpu")
    env = deployment["work_pool"]["job_variables"]["env"]
    assert env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "geoseg"
