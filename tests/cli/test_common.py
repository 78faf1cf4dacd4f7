"""The one error handler: one line and exit 2, the traceback only with ``--debug``, Ctrl-C 130
(real signals mid-run: tests/cli/test_interrupt.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from geoseg.cli.common import INTERRUPTED, names, progress_bars, set_debug, user_errors
from geoseg.errors import InputError
from tests.cli.conftest import assert_clean_failure, invoke

demo = typer.Typer()


@demo.callback()
def _root(debug: Annotated[bool, typer.Option("--debug")] = False) -> None:
    set_debug(debug)


@demo.command()
def fail(kind: str) -> None:
    with user_errors():
        if kind == "input":
            raise InputError("scene not found", "x.tif", "check the path")
        if kind == "interrupt":
            raise KeyboardInterrupt
        raise RuntimeError("a bug")


def _demo(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(demo, list(args))


def test_an_expected_failure_is_one_line_and_exit_2() -> None:
    res = _demo("fail", "input")
    assert_clean_failure(res, r"^geoseg: error: scene not found \(x.tif\): check the path$")


def test_debug_shows_the_traceback_and_does_not_stick() -> None:
    res = _demo("--debug", "fail", "input")
    assert isinstance(res.exception, InputError)
    assert_clean_failure(_demo("fail", "input"), "scene not found")


def test_interrupt_says_nothing_was_written() -> None:
    res = _demo("fail", "interrupt")
    assert res.exit_code == 130
    assert res.stderr.strip() == f"geoseg: interrupted: {INTERRUPTED}"


def test_bugs_are_not_hidden() -> None:
    res = _demo("fail", "bug")
    assert isinstance(res.exception, RuntimeError)


def test_the_real_app_debug_flag(tmp_path: Path) -> None:
    res = invoke("--debug", "classify", str(tmp_path / "nope.tif"), catch=True)
    assert res.exit_code != 0 and isinstance(res.exception, InputError)
    res = invoke("classify", str(tmp_path / "nope.tif"), "-o", str(tmp_path / "o"))
    assert_clean_failure(res, "scene not found", tmp_path / "o")


def test_progress_bars_stay_silent_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bars() as report:
        report("segment", 1, 4)
        report("segment", 4, 4)
        report("vectorize", 0, 2)
    assert capsys.readouterr().err == ""


def test_progress_lines_for_programs_reading_the_pipe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GEOSEG_PROGRESS=lines`` (the QGIS plugin): one plain line per report on stderr."""
    monkeypatch.setenv("GEOSEG_PROGRESS", "lines")
    with progress_bars() as report:
        report("classify", 1, 4)
        report("write", 0, 1)
    assert capsys.readouterr().err.splitlines() == [
        "geoseg: progress: classify 1/4",
        "geoseg: progress: write 0/1",
    ]


def test_names() -> None:
    assert names(" ndvi, NDWI,,") == ["NDVI", "NDWI"]
    assert names("") == []
