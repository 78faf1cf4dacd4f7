"""The notebooks run end to end on real data; their own assert cells check the results."""

import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
TIME_LIMIT_S = 240  # ~30 s on 2 cores; the limit catches a runaway, not a slow machine


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.parametrize("name", ["yield_monitoring.ipynb"])
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOSEG_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIME_LIMIT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError with the failing cell on any error or assert
    elapsed = time.perf_counter() - t0
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert "all checks passed" in text
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 3  # crop area, quick look, NDVI curves
    assert (tmp_path / "runs" / "hesbaye_2021-06-01_item.json").is_file()
    print(f"{name}: {elapsed:.1f} s", file=sys.stderr)
