"""Engine choice: what ``auto`` picks, and the engines the options name."""

import pytest

from geoseg.engine import select
from geoseg.engine.select import ComputeOptions, engine_kind

BIG = select.SMALL_SCENE_PIXELS + 1


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select.os, "cpu_count", lambda: select.LOCAL_CLUSTER_MIN_CORES)


@pytest.mark.parametrize(
    ("compute", "pixels", "kind"),
    [
        (ComputeOptions(), 1000, "inprocess"),  # small scene
        (ComputeOptions(device="cpu"), BIG, "local"),  # big scene, enough cores
        (ComputeOptions(dask_address="tcp://h:1"), 1000, "dask"),  # a cluster was named
        (ComputeOptions(engine="inprocess"), BIG, "inprocess"),
        (ComputeOptions(engine="local"), 10, "local"),
        (ComputeOptions(engine="local", dask_address="tcp://h:1"), 10, "local"),
    ],
)
@pytest.mark.usefixtures("cores")
def test_auto_and_named_engines(compute: ComputeOptions, pixels: int, kind: str) -> None:
    assert engine_kind(compute, pixels) == kind


def test_few_cores_stay_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select.os, "cpu_count", lambda: select.LOCAL_CLUSTER_MIN_CORES - 1)
    assert engine_kind(ComputeOptions(device="cpu"), BIG) == "inprocess"


@pytest.mark.usefixtures("cores")
def test_a_gpu_stays_in_process() -> None:
    assert engine_kind(ComputeOptions(device="cuda"), BIG) == "inprocess"


@pytest.mark.slow  # waits out a 10 s connection timeout
def test_an_unreachable_scheduler_is_a_geoseg_error() -> None:
    from geoseg.errors import GeosegError

    compute = ComputeOptions(engine="dask", dask_address="tcp://127.0.0.1:9")
    engine = select.open_engine(compute, None, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(GeosegError, match="cannot reach the Dask scheduler"), engine:
        pass
