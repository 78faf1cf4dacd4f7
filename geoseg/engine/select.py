"""Which engine runs a scene's chunks, and the options that choose it.

:class:`ComputeOptions` lives here, not in ``run/``, because every field is the engine layer's
business (engine kinds, devices, cluster size, GPU resources, the chunk store): the layer that
knows the engines checks their settings, and :func:`open_engine` takes the typed group rather
than seven loose values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geoseg.engine.precision import PRECISIONS
from geoseg.errors import GeosegError, OptionError, out_of_range

if TYPE_CHECKING:  # torch and Dask load only when an engine is chosen: options stay light
    from geoseg.engine.local import Engine
    from geoseg.models.bundle import Bundle

ENGINES = ("auto", "inprocess", "local", "dask")
#: Scenes of at most this many pixels run in-process when no engine is named: a local
#: cluster's start-up (seconds) and second copy of the model do not pay off below that.
SMALL_SCENE_PIXELS = 4 * 2048 * 2048
#: Below this many cores PyTorch's own threads use the machine as well as worker processes do
#: (2 cores, full scene, two runs: in-process 158 and 193 s, two workers 166 and 177 s;
#: bench/RESULTS.md): not worth a second copy of the model and a cluster's start-up.
LOCAL_CLUSTER_MIN_CORES = 8
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


@dataclass(frozen=True)
class ComputeOptions:
    """Where the model runs: engine, device, workers; and whether finished chunks are kept."""

    engine: str = "auto"  # auto | inprocess | local | dask (needs dask_address)
    device: str = "auto"
    dask_address: str | None = None  # e.g. tcp://scheduler:8786: an existing cluster
    workers: int | None = None  # local cluster size (default: one per core)
    gpu_resources: bool = False  # pin chunk tasks to workers started with --resources GPU=1
    resume: bool = True  # keep finished chunks beside the outputs until the run completes
    precision: str = "auto"  # auto | fp32 | bf16 | int8 (geoseg.engine.precision)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise OptionError(
                f"unknown engine {self.engine!r}", "--engine", f"use {', '.join(ENGINES)}"
            )
        if self.engine == "dask" and not self.dask_address:
            raise OptionError(
                "engine dask needs a scheduler address", "--dask-address", "pass tcp://HOST:PORT"
            )
        if not _DEVICE.match(self.device):
            raise out_of_range("device", self.device, "auto, cpu, cuda or cuda:N")
        if self.precision not in PRECISIONS:
            raise out_of_range("precision", self.precision, ", ".join(PRECISIONS))
        if self.precision == "int8" and self.device.startswith(("cuda", "mps")):
            raise OptionError(
                "int8 runs on the CPU only", "--precision", "use --device cpu, or auto/bf16/fp32"
            )
        if self.workers is not None and self.workers < 1:
            raise out_of_range("workers", self.workers, "1 or more (default: one per core)")


def engine_kind(compute: ComputeOptions, n_pixels: int) -> str:
    """``inprocess``, ``local`` or ``dask``; ``auto``: an existing cluster if an address is
    given, in-process for small scenes, machines with few cores and GPUs, else a local cluster."""
    from geoseg.engine.predict import resolve_device

    if compute.engine != "auto":
        return compute.engine
    if compute.dask_address:
        return "dask"
    if (
        n_pixels <= SMALL_SCENE_PIXELS
        or (os.cpu_count() or 1) < LOCAL_CLUSTER_MIN_CORES
        or resolve_device(compute.device).type == "cuda"
    ):
        return "inprocess"
    return "local"


@contextmanager
def open_engine(
    compute: ComputeOptions,
    bundle: Bundle,
    n_pixels: int,
    batch_size: int | None,
    tta: bool = False,
) -> Iterator[Engine]:
    """The engine the options ask for, open for the duration of the ``with`` block
    (``tta``: each tile's probabilities averaged over its 8 flips and rotations)."""
    from geoseg.engine.local import InProcessEngine
    from geoseg.engine.predict import Predictor

    kind = engine_kind(compute, n_pixels)
    if kind == "inprocess":
        yield InProcessEngine(
            Predictor(bundle, compute.device, batch_size, tta=tta, precision=compute.precision)
        )
        return
    from distributed import Client

    from geoseg.engine.dask import DaskEngine, local_cluster

    def on(client: Client) -> DaskEngine:
        resources = {"GPU": 1.0} if compute.gpu_resources else None
        device, precision = compute.device, compute.precision
        return DaskEngine(
            client, bundle, device, batch_size, resources=resources, tta=tta, precision=precision
        )

    if kind == "dask":
        assert compute.dask_address  # ComputeOptions requires one for engine dask
        try:
            client = Client(compute.dask_address, timeout="10s")
        except OSError as exc:
            raise GeosegError(
                f"cannot reach the Dask scheduler ({exc})",
                compute.dask_address,
                "check the address and that the scheduler is running",
            ) from exc
        with client:
            yield on(client)
        return
    with local_cluster(compute.workers) as cluster, Client(cluster) as client:
        yield on(client)
