"""Chunks on Dask workers: a local cluster sized to the machine, or an existing cluster.

Workers read their own windows from the source (the client sends only chunk indices and the
picklable Job), load the model once per worker process from bundle bytes broadcast to every worker
(no shared filesystem needed; safetensors, no pickle), and return settled chunks: uint8 cores plus
overlap strips. The client keeps at most ``max_in_flight`` chunks submitted, so its memory is
bounded however large the scene. ``resources={"GPU": 1}`` pins inference to GPU workers of mixed
clusters: tasks are submitted one by one with ``client.submit``, so no graph optimisation can drop
the annotation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed

from geoseg.core.blend import ChunkOutput
from geoseg.engine.local import ChunkKey, Job, process_chunk
from geoseg.engine.predict import Predictor
from geoseg.models.bundle import Bundle, bundle_from_bytes

#: the model as sent to workers: bundle.json text, weights, their hash, the int8 model if used
Model = tuple[str, bytes, str, bytes | None]
#: how a worker runs it: device, batch size, TTA, precision
Runtime = tuple[str, int | None, bool, str]
_PREDICTORS: dict[tuple[str, Runtime], Predictor] = {}
_LOCK = threading.Lock()


def _worker_predictor(model: Model, runtime: Runtime) -> Predictor:
    """The model of this worker process, built once per weights and runtime."""
    spec_json, weights, sha, int8 = model
    key = (sha, runtime)
    with _LOCK:
        if key not in _PREDICTORS:
            bundle = bundle_from_bytes(spec_json, weights, int8)
            device, batch, tta, precision = runtime
            _PREDICTORS[key] = Predictor(bundle, device, batch, tta, precision)
        return _PREDICTORS[key]


def _payload(value: Model) -> Model:
    return value


def _run_chunk(job: Job, model: Model, runtime: Runtime, key: ChunkKey) -> ChunkOutput:
    return process_chunk(job, _worker_predictor(model, runtime), key)


def local_cluster(workers: int | None = None) -> LocalCluster:
    """One single-threaded worker process per core (PyTorch uses one thread in each)."""
    n = workers or os.cpu_count() or 1
    with _sigint_ignored():
        return LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            # a CLI run shows its own one-line errors; Dask's warnings (a cancelled task, a
            # worker killed while closing after Ctrl-C) are noise there, its errors are not
            silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Worker processes started meanwhile inherit an ignored SIGINT (Python keeps it so).

    Ctrl-C reaches every process of the terminal's group: without this each worker would print
    its own traceback. The client alone stops, and closing the cluster ends the workers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class DaskEngine:
    def __init__(
        self,
        client: Client,
        bundle: Bundle,
        device: str = "auto",
        batch_size: int | None = None,
        max_in_flight: int | None = None,
        resources: dict[str, float] | None = None,
        tta: bool = False,
        precision: str = "auto",
    ) -> None:
        self.client = client
        self.bundle = bundle
        self.runtime: Runtime = (device, batch_size, tta, precision)
        workers = len(client.scheduler_info(n_workers=-1)["workers"]) or 1
        self.max_in_flight = max_in_flight or 2 * workers
        self.resources = resources

    def outputs(self, job: Job, todo: Sequence[ChunkKey]) -> Iterator[ChunkOutput]:
        spec_json, weights = self.bundle.to_bytes()
        # workers resolve "auto" themselves; send the int8 model whenever they may pick it
        int8 = self.bundle.int8_model if self._may_use_int8() else None
        # A task, not scattered data: if the worker holding it dies, the scheduler recomputes it
        # (scattered data would be lost and every chunk depending on it cancelled). Its tens of
        # MB are sent once, on purpose: Dask's large-graph warning would only alarm users.
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GiB"}):
            model = self.client.submit(
                _payload,
                (spec_json, weights, self.bundle.sha256, int8),
                pure=False,
                key=f"geoseg-model-{self.bundle.model_hash}-{uuid.uuid4().hex[:8]}",
            )
        keys = iter(todo)
        run = uuid.uuid4().hex[:8]
        running = as_completed()

        def submit_next() -> bool:
            key = next(keys, None)
            if key is None:
                return False
            kwargs: dict[str, Any] = {"pure": False, "retries": 2}
            if self.resources:
                kwargs["resources"] = self.resources
            running.add(
                self.client.submit(
                    _run_chunk,
                    job,
                    model,
                    self.runtime,
                    key,
                    key=f"geoseg-chunk-{run}-{key[0]}-{key[1]}",
                    **kwargs,
                )
            )
            return True

        for _ in range(self.max_in_flight):
            if not submit_next():
                break
        for future in running:
            out = future.result()
            future.release()
            submit_next()
            yield out

    def _may_use_int8(self) -> bool:
        precision = self.runtime[3]
        return precision == "int8" or (precision == "auto" and self.bundle.has_int8)
