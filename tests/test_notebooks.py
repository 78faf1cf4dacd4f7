"""The notebooks run end to end on real data; their own assert cells check the results. The
committed copy carries its outputs (re-executed with the command in notebooks/README.md)."""

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


def _stderr(nb: nbformat.NotebookNode) -> str:
    """What the cells printed on stderr (warnings such as tqdm's "IProgress not found")."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    return "".join(o.get("text", "") for c in cells for o in c.outputs if o.get("name") == "stderr")


def test_the_committed_notebook_is_executed_and_small() -> None:
    """Committed with its outputs (readable on a forge or in JupyterLab without running it),
    every code cell run once in order, the figures small, no warnings printed."""
    path = NOTEBOOKS / "yield_monitoring.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert all(c.outputs for c in code), "a code cell without output: execute the notebook"
    printed = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert "all checks passed" in printed and "field-months mapped as what grows there" in printed
    assert _stderr(nb) == ""
    assert path.stat().st_size < 400_000


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
    assert "IProgress" not in _stderr(nb)  # ipywidgets (dev extras) is there for tqdm
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 3  # crop area, quick look, NDVI curves
    assert (tmp_path / "runs" / "hesbaye_2021-06-01_item.json").is_file()
    print(f"{name}: {elapsed:.1f} s", file=sys.stderr)
