"""Why a Prefect server on SQLite answers 503: its own background services hold the write lock.

Starts `prefect server start` in a temporary PREFECT_HOME, creates the work pools and deploys
flows/prefect.yaml as the README says, then creates N runs of *on-demand* one after the other
with plain httpx (no retries) and counts the answers. Run it once as is and once with a service
off to see which writer the API requests collide with:

    python bench/prefect_busy.py --runs 300
    python bench/prefect_busy.py --runs 300 --off late_runs

Measured 2026-11-30 (2 cores, loaded by a training run), 300 sequential requests:
all services on, 80 and 24 answered 503 in two runs; `--off late_runs`, none. The runs pile
up unpicked (no worker), so every 5 s the late-runs service rewrites their states while the next
request writes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="flow runs to create")
    parser.add_argument(
        "--off", nargs="*", default=[], help="server services to disable (late_runs, scheduler, …)"
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="prefect-busy-"))
    port = str(free_port())
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        **{f"PREFECT_SERVER_SERVICES_{name.upper()}_ENABLED": "false" for name in args.off},
    }
    log_path = home / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if server.poll() is not None:
                    raise SystemExit(f"prefect server exited; see {log_path}") from None
                time.sleep(1)
        for cmd in (
            ["work-pool", "create", "geoseg-cpu", "--type", "process"],
            ["work-pool", "create", "geoseg-gpu", "--type", "process"],
            ["--no-prompt", "deploy", "--all", "--prefect-file", "flows/prefect.yaml"],
        ):
            subprocess.run([PREFECT, *cmd], env=env, cwd=REPO, check=True, capture_output=True)
        deployments = httpx.post(f"{url}/deployments/filter", json={}).json()
        (on_demand,) = [d for d in deployments if d["name"] == "on-demand"]
        create = f"{url}/deployments/{on_demand['id']}/create_flow_run"
        body = {"parameters": {"request": {"scene": "/nowhere.tif", "out_dir": str(home)}}}
        answers: collections.Counter[int] = collections.Counter()
        start = time.perf_counter()
        for _ in range(args.runs):
            answers[httpx.post(create, json=body, timeout=60).status_code] += 1
        seconds = time.perf_counter() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    text = log_path.read_text()
    print(json.dumps({
        "runs": args.runs,
        "services_off": args.off,
        "answers": dict(answers),
        "seconds": round(seconds, 1),
        "server_log_database_is_locked": text.count("database is locked"),
        "server_log_500s": text.count("Encountered exception in request"),
        "cpus": os.cpu_count(),
        "load_avg_1min": os.getloadavg()[0],
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
