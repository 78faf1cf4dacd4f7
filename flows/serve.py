"""Serve the geoseg flows from this process, with the nightly catalogue run on a cron schedule.

    python flows/serve.py        # catalogue tiles/catalog.yaml, nightly at 02:00 UTC
    python flows/serve.py --cron "30 1 * * *" --catalog /data/catalog.yaml

No work pool or worker is needed (``prefect.yaml`` is the work-pool way). Run it from the
repository root with ``PREFECT_API_URL`` pointing at your Prefect server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # run as a script: make `flows` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.classify import classify_catalog, classify_scene

NIGHTLY_CRON = "0 2 * * *"


def build_deployments(
    cron: str = NIGHTLY_CRON,
    catalog: str = "tiles/catalog.yaml",
    timezone: str = "UTC",
    options: dict[str, Any] | None = None,
) -> list[RunnerDeployment]:
    """The nightly catalogue deployment and an on-demand single-scene one (no server needed)."""
    nightly = classify_catalog.to_deployment(
        name="nightly",
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"request": {"catalog": catalog, "options": options or {}}},
        description="Classify every scene of the catalogue not done yet with this model.",
        tags=["geoseg", "nightly"],
    )
    on_demand = classify_scene.to_deployment(
        name="on-demand",
        description="Classify one scene: pass request.scene (and out_dir, model, options).",
        tags=["geoseg"],
    )
    # to_deployment is sync here (no running event loop); the cast tells mypy so
    return [cast(RunnerDeployment, d) for d in (nightly, on_demand)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cron", default=NIGHTLY_CRON, help="schedule of the catalogue run")
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--catalog", default="tiles/catalog.yaml")
    args = parser.parse_args(argv)
    serve(*build_deployments(args.cron, args.catalog, args.timezone))


if __name__ == "__main__":
    main()
