"""The Dask engine: same classes as in-process on a local cluster and on a real external cluster
(``dask scheduler`` + ``dask worker`` processes on 127.0.0.1), surviving a killed worker, and
pinning chunk tasks to GPU-resourced workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio

import geoseg
from geoseg.run.classify import Options
from tests.conftest import BEIRUT

#: each test starts a Dask cluster (workers load torch): seconds to a minute
pytestmark = pytest.mark.slow

MAX_FLIPS = 1e-5
SMALL = {
    "tile_size": 256,
    "overlap": 32,
    "chunk_size": 224,
    "vectorize": False,
    "confidence": False,
}


def _classes(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


@pytest.fixture(scope="module")
def reference(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    out = tmp_path_factory.mktemp("inprocess")
    res = geoseg.classify(
        BEIRUT, out, model=bundle_dir, options=Options(engine="inprocess", **SMALL)
    )
    return _classes(res.classes)


def test_local_cluster_matches_in_process(
    bundle_dir: Path, reference: np.ndarray, tmp_path: Path
) -> None:
    for workers in (1, 2):
        res = geoseg.classify(
            BEIRUT,
            tmp_path / str(workers),
            model=bundle_dir,
            options=Options(engine="local", workers=workers, **SMALL),
        )
        assert (_classes(res.classes) != reference).mean() <= MAX_FLIPS


@pytest.mark.filterwarnings("error::UserWarning")  # e.g. Dask's "large graph" for the model
def test_masks_travel_to_the_workers(bundle_dir: Path, tmp_path: Path) -> None:
    """A user mask (at 20 m, a stripe across several chunks) gives the same nodata and the same
    classes on workers as in this process."""
    from affine import Affine

    from geoseg.io.reader import open_scene

    grid = open_scene(BEIRUT).grid
    mask = np.zeros((grid.height // 2, grid.width // 2), dtype=np.uint8)
    mask[100:180, :] = 1
    t = grid.transform
    with rasterio.open(
        tmp_path / "mask.tif", "w", driver="GTiff", width=mask.shape[1], height=mask.shape[0],
        count=1, dtype="uint8", crs=grid.crs, transform=t * Affine.scale(2),
    ) as dst:  # fmt: skip
        dst.write(mask, 1)
    runs = {}
    for engine in ("inprocess", "local"):
        res = geoseg.classify(
            BEIRUT,
            tmp_path / engine,
            model=bundle_dir,
            options=Options(engine=engine, workers=2, **SMALL),
            mask=tmp_path / "mask.tif",
        )
        runs[engine] = (_classes(res.classes), json.loads(res.stats_json.read_text()))
    (cls_in, stats_in), (cls_dask, stats_dask) = runs["inprocess"], runs["local"]
    assert (cls_in[200:360] == 255).all() and stats_in["masked_pixels"] > 0
    assert stats_dask["masked_pixels"] == stats_in["masked_pixels"]
    assert (cls_dask != cls_in).mean() <= MAX_FLIPS


class Cluster:
    """A real scheduler and worker processes on 127.0.0.1."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.file = tmp / "scheduler.json"
        self.env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
        self.scheduler = self._spawn(
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dashboard-address",
            ":0",
            "--scheduler-file",
            str(self.file),
            "--idle-timeout",
            "300",
        )
        self.workers: list[subprocess.Popen[bytes]] = []
        deadline = time.time() + 60
        while not self.file.exists() and time.time() < deadline:
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]

    def _spawn(self, module: str, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def add_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            "distributed.cli.dask_worker",
            self.address,
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            *extra,
        )
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=120)

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.mark.slow
def test_external_cluster_survives_a_killed_worker(
    bundle_dir: Path, reference: np.ndarray, cluster: Cluster, tmp_path: Path
) -> None:
    victim = cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    out = tmp_path / "out"
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["res"] = geoseg.classify(
                BEIRUT,
                out,
                model=bundle_dir,
                options=Options(engine="dask", dask_address=cluster.address, **SMALL),
            )
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.time() + 120
    while not list(out.glob(".geoseg-chunks-*/*.npz")) and time.time() < deadline:
        time.sleep(0.1)
    victim.kill()  # SIGKILL mid-run: its chunks are recomputed elsewhere
    thread.join(timeout=300)
    assert "error" not in result, result.get("error")
    done = result["res"]
    assert isinstance(done, geoseg.ClassifyResult)
    assert victim.poll() is not None
    assert (_classes(done.classes) != reference).mean() <= MAX_FLIPS


@pytest.mark.slow
def test_gpu_resources_pin_chunks_to_gpu_workers(
    bundle_dir: Path, reference: np.ndarray, cluster: Cluster, tmp_path: Path
) -> None:
    from distributed import Client

    cluster.add_worker("--resources", "GPU=1", "--name", "gpu-worker")
    cluster.add_worker("--name", "cpu-worker")
    cluster.wait_for_workers(2)
    res = geoseg.classify(
        BEIRUT,
        tmp_path,
        model=bundle_dir,
        options=Options(
            engine="dask", dask_address=cluster.address, gpu_resources=True, device="cpu", **SMALL
        ),
    )
    with Client(cluster.address) as client:
        loaded = client.run(_models_loaded)  # a worker loads the model when it runs a chunk
        names = {w: info["name"] for w, info in client.scheduler_info()["workers"].items()}
    assert {names[w]: n for w, n in loaded.items()} == {"gpu-worker": 1, "cpu-worker": 0}
    assert (_classes(res.classes) != reference).mean() <= MAX_FLIPS


def _models_loaded() -> int:
    from geoseg.engine import dask as dask_engine

    return len(dask_engine._PREDICTORS)


def test_int8_on_workers_matches_in_process(tmp_path: Path) -> None:
    """The shipped model's int8 file travels to the workers with the bundle (its hash checked
    there) and gives the in-process int8 classes."""
    opts = {**SMALL, "precision": "int8", "workers": 1}
    runs = [
        _classes(geoseg.classify(BEIRUT, tmp_path / e, options=Options(engine=e, **opts)).classes)
        for e in ("inprocess", "local")
    ]
    assert (runs[0] != runs[1]).mean() <= MAX_FLIPS
