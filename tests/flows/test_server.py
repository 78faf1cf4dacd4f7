"""End to end against a real `prefect server start` on 127.0.0.1: the README's deployment steps
(work pool, `prefect deploy` of flows/prefect.yaml, a worker), one run triggered and completed,
its artifacts read back from the API, every process stopped."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prefect.client.base import PrefectHttpxSyncClient

from tests.conftest import NORCIA

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def spawned(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session, output to ``log``; stopped (group SIGTERM, then SIGKILL)
    if still running when the block ends."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    cmd = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with spawned(cmd, env, tmp_path / "server.log") as proc:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prefect server did not start in 180 s"
            time.sleep(1)
        yield url, env
    assert proc.returncode is not None


def api(method: str, url: str, json: object = None, ok: int = 200) -> httpx.Response:
    """One API call through Prefect's own transport, which retries 503s as Prefect's CLI, workers
    and flows do.

    The SQLite-backed server answers 503 when a write transaction loses the database lock to one
    of the server's own background services (the late-runs marker, the scheduler, ...). SQLite
    refuses the loser at once, so its busy timeout cannot help. Prefect classes that as "busy, ask
    again" (`is_client_retryable_exception`), not as an error; `bench/prefect_busy.py` shows it.
    Any other status, a 500 included, fails the test at once.
    """
    with PrefectHttpxSyncClient(timeout=30, raise_on_all_errors=False) as client:
        res = client.request(method, url, json=json)
    assert res.status_code == ok, f"{method} {url}: {res.status_code} {res.text[:500]}"
    return res


def prefect(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_deploy_run_and_read_artifacts(
    server: tuple[str, dict[str, str]], tmp_path: Path, bundle_dir: Path
) -> None:
    url, env = server
    prefect(env, "work-pool", "create", "geoseg-cpu", "--type", "process")
    prefect(env, "work-pool", "create", "geoseg-gpu", "--type", "process")
    prefect(env, "--no-prompt", "deploy", "--all", "--prefect-file", "flows/prefect.yaml")

    deployments = api("POST", f"{url}/deployments/filter", {}).json()
    by_name = {d["name"]: d for d in deployments}
    assert set(by_name) == {"nightly", "nightly-gpu", "on-demand"}
    (nightly,) = by_name["nightly"]["schedules"]
    assert nightly["schedule"]["cron"] == "0 2 * * *" and nightly["active"]
    assert not by_name["nightly-gpu"]["schedules"][0]["active"]

    params = {
        "request": {
            "scene": str(NORCIA),
            "out_dir": str(tmp_path / "out"),
            "model": str(bundle_dir),
        }
    }
    create = f"{url}/deployments/{by_name['on-demand']['id']}/create_flow_run"
    run = api("POST", create, {"parameters": params}, ok=201).json()
    refused = api("POST", create, {"parameters": {"request": {"scene": 5}}}, ok=409)
    assert "scene" in refused.text  # validated by the server

    cmd = [PREFECT, "worker", "start", "--pool", "geoseg-cpu", "--run-once"]
    with spawned(cmd, env, tmp_path / "worker.log") as worker:
        deadline = time.monotonic() + 300
        while True:
            state = api("GET", f"{url}/flow_runs/{run['id']}").json()["state"]
            if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            assert time.monotonic() < deadline, f"run still {state['type']} after 300 s"
            time.sleep(2)
        worker.wait(timeout=120)
    assert state["type"] == "COMPLETED", (tmp_path / "worker.log").read_text()[-3000:]
    assert worker.returncode == 0

    artifacts = api(
        "POST", f"{url}/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}
    ).json()
    kinds = {a["type"]: a for a in artifacts}
    assert set(kinds) == {"markdown", "table"}
    assert NORCIA.name in kinds["markdown"]["data"]
    rows = kinds["table"]["data"]
    rows = json.loads(rows) if isinstance(rows, str) else rows
    stats = (tmp_path / "out" / f"{NORCIA.name}_stats.csv").read_text().splitlines()
    assert len(rows) == len(stats) - 1 and sum(r["pixels"] for r in rows) > 0
