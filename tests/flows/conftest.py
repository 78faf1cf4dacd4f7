"""Prefect in tests: its own PREFECT_HOME, no analytics, one temporary server per session."""

import os
import tempfile
from collections.abc import Iterator

import pytest

# before Prefect is imported: its settings (home, database) are read at import time
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="geoseg-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    # first start on 2 cores takes ≈ 20 s (database migrations)
    with prefect_test_harness(server_startup_timeout=180):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every flow test talks to a Prefect server (≈ 20 s to start): part of the full run only."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.slow)
