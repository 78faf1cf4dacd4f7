"""The plugin's QGIS-free part (``geoseg/qgis_plugin/runner.py``): reading geoseg's progress,
finding the executable, running it and stopping it. No QGIS needed; a small script stands in for
geoseg except in the one test that runs the real one."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest

from geoseg.qgis_plugin import runner
from geoseg.qgis_plugin.runner import OutputParser, Progress, parse_progress

#: a rich redraw as ``geoseg classify`` prints it with :data:`runner.PROGRESS_ENV` (recorded)
RICH = (
    "\x1b[?25l\r\x1b[2K\r\x1b[2Kclassify" + " " * 44 + "0/3 0:00:00"
    "\r\x1b[2Kclassify   " + "━" * 13 + "╸" + " " * 26 + "1/3 0:00:01"
    "\r\x1b[2Kclassify   " + "━" * 40 + " 3/3 0:00:02\nwrite      " + " " * 40 + " 0/1 0:00:02"
    "\r\x1b[2K\x1b[1A\x1b[2Kclassify   "
    + "━" * 40
    + " 3/3 0:00:02\nwrite      "
    + "━" * 40
    + " 1/1 0:00:02\r\x1b[2K\x1b[1A\x1b[2K\x1b[?25h"
)


def test_rich_bars_are_read_once_per_change() -> None:
    parser = OutputParser()
    reports: list[Progress] = []
    for i in range(0, len(RICH), 7):  # as a pipe delivers it: in arbitrary pieces
        reports += parser.feed(RICH[i : i + 7])[0]
    reports += parser.close()[0]
    assert reports == [
        Progress("classify", 0, 3),
        Progress("classify", 1, 3),
        Progress("classify", 3, 3),
        Progress("write", 0, 1),
        Progress("write", 1, 1),
    ]
    assert parser.lines == []  # bars are not log lines


def test_plain_progress_lines_and_text_lines() -> None:
    parser = OutputParser()
    reports, lines = parser.feed(
        "geoseg: progress: vectorize 2/4\nClassified 104,052 pixels\x1b[1m!\x1b[0m\npartial"
    )
    assert reports == [Progress("vectorize", 2, 4)]
    assert lines == ["Classified 104,052 pixels!"]
    assert parser.close() == ([], ["partial"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("classify   ━━━━╸      12/40 0:00:03", Progress("classify", 12, 40)),
        ("geoseg: progress: write 1/1", Progress("write", 1, 1)),
        ("Classified 104,052 pixels (94.8 % valid) in 0.7 s.", None),
        ("│ trees              │ 28,855 │   288.55 │   29.25 │       64 │", None),
        ("  /out/a_classes.tif", None),
    ],
)
def test_parse_progress(text: str, expected: Progress | None) -> None:
    assert parse_progress(text) == expected


def test_overall_percent_places_each_phase() -> None:
    assert Progress("classify", 0, 10).percent == 0
    assert Progress("classify", 5, 10).percent == 40
    assert Progress("write", 1, 1).percent == 85
    assert Progress("vectorize", 1, 2).percent == 92.5
    assert Progress("other", 1, 4).percent == 25
    assert Progress("classify", 3, 0).percent == 0  # no division by zero


def test_outputs_and_errors_from_the_summary() -> None:
    lines = ["Classified 3 pixels", "Outputs:", "  /o/s_classes.tif", "  /o/s.gpkg", "done"]
    assert runner.output_paths(lines) == ["/o/s_classes.tif", "/o/s.gpkg"]
    assert runner.error_message(["x", "geoseg: error: bad (here): fix"]) == (
        "geoseg: error: bad (here): fix"
    )
    assert runner.error_message(["│ No such option: --nope │"]) == "No such option: --nope"
    assert runner.error_message(["fine"]) is None


def _fake_geoseg(tmp_path: Path, body: str) -> Path:
    """An executable script standing in for geoseg."""
    exe = tmp_path / "geoseg"
    exe.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


@pytest.mark.skipif(os.name == "nt", reason="POSIX script shebangs")
def test_run_streams_progress_and_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = _fake_geoseg(
        tmp_path,
        """
        import os, sys, time
        assert os.environ["TTY_COMPATIBLE"] == "1"
        assert "PYTHONPATH" not in os.environ and "PROJ_LIB" not in os.environ
        print("args", *sys.argv[1:], flush=True)
        for i in range(4):
            sys.stderr.write(f"\\r\\x1b[2Kclassify   ━━━ {i}/3 0:00:0{i}")
            sys.stderr.flush()
            time.sleep(0.05)
        print("\\nOutputs:\\n  /o/x_classes.tif")
        """,
    )
    seen: list[Progress] = []
    lines: list[str] = []
    monkeypatch.setenv("PYTHONPATH", "/qgis/python")  # QGIS's own: must not reach geoseg
    monkeypatch.setenv("PROJ_LIB", "/qgis/share/proj")
    result = runner.run_geoseg(str(exe), ["classify", "a b"], seen.append, lines.append)
    assert result.returncode == 0 and not result.canceled
    assert [p.done for p in seen] == [0, 1, 2, 3]
    assert lines[0] == "args classify a b"
    assert runner.output_paths(result.lines) == ["/o/x_classes.tif"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX script shebangs")
@pytest.mark.parametrize(
    ("printed", "said"),
    [
        ("geoseg: error: not a readable raster (/x.tif): check the path", "not a readable raster"),
        ("│ No such option: --nope │", "No such option: --nope"),
        ("geoseg: terminated: nothing was written", "terminated: nothing was written"),
    ],
)
def test_each_error_is_said_once(tmp_path: Path, printed: str, said: str) -> None:
    """The log the plugin fills leaves out the line it raises as the algorithm's error, which
    QGIS reports itself: qgis_process printed a geoseg error once more for the echo."""
    exe = _fake_geoseg(
        tmp_path,
        f"""
        import sys
        print("geoseg: warning: reflectance unlike the training data", file=sys.stderr)
        print({printed!r}, file=sys.stderr)
        sys.exit(2)
        """,
    )
    log: list[str] = []
    result = runner.run_geoseg(str(exe), [], on_line=runner.log_only(log.append))
    message = runner.error_message(result.lines)
    assert result.returncode == 2 and message is not None and said in message
    assert [line for line in [*log, message] if said in line] == [message]
    assert log == ["geoseg: warning: reflectance unlike the training data"]


def test_a_traceback_is_said_by_its_last_line() -> None:
    lines = ["Traceback (most recent call last):", '  File "x.py", line 1', "ValueError: boom"]
    assert runner.error_message(lines) == "geoseg failed (traceback in the log): ValueError: boom"


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_cancel_terminates_and_reports(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    exe = _fake_geoseg(
        tmp_path,
        f"""
        import signal, sys, time
        def bye(*a):
            open({str(marker)!r}, "w").write("yes")
            print("geoseg: terminated: nothing was written", file=sys.stderr)
            sys.exit(143)
        signal.signal(signal.SIGTERM, bye)
        print("geoseg: progress: classify 0/100", flush=True)
        time.sleep(60)
        """,
    )
    seen: list[Progress] = []
    start = time.monotonic()
    result = runner.run_geoseg(
        str(exe), [], on_progress=seen.append, is_canceled=lambda: bool(seen), poll_s=0.02
    )
    assert time.monotonic() - start < 10
    assert result.canceled and result.returncode == 143
    assert marker.read_text() == "yes"  # SIGTERM first: geoseg cleans up its staging
    assert "geoseg: terminated: nothing was written" in result.lines


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_cancel_kills_what_ignores_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = _fake_geoseg(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("geoseg: progress: classify 0/1", flush=True)
        time.sleep(60)
        """,
    )
    monkeypatch.setattr(runner, "TERMINATE_GRACE_S", 0.5)
    seen: list[Progress] = []
    result = runner.run_geoseg(str(exe), [], seen.append, is_canceled=lambda: bool(seen))
    assert result.canceled and result.returncode == -9


def test_find_geoseg_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = tmp_path / "plugins" / "geoseg_processing"
    plugin.mkdir(parents=True)
    recorded = _fake_geoseg(tmp_path, "print('geoseg 0.1.0')")
    monkeypatch.delenv(runner.EXECUTABLE_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert runner.find_geoseg(plugin) is None
    (plugin / runner.INSTALL_RECORD).write_text(f"{recorded}\n")
    assert runner.find_geoseg(plugin) == str(recorded)
    env_dir = tmp_path / "env"  # a venv folder given: its bin/geoseg
    (env_dir / "bin").mkdir(parents=True)
    env_exe = _fake_geoseg(env_dir / "bin", "")
    monkeypatch.setenv(runner.EXECUTABLE_ENV, str(env_dir))
    assert runner.find_geoseg(plugin) == str(env_exe)
    # a configured path wins, and a wrong one is kept so that the error can name it
    assert runner.find_geoseg(plugin, str(recorded)) == str(recorded)
    assert runner.find_geoseg(plugin, str(tmp_path / "nope")) == str(tmp_path / "nope")


def test_checkout_venv_is_found_through_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "geoseg" / "qgis_plugin").mkdir(parents=True)
    (repo / ".venv" / "bin").mkdir(parents=True)
    exe = _fake_geoseg(repo / ".venv" / "bin", "")
    link = tmp_path / "plugins" / "geoseg_processing"
    link.parent.mkdir()
    link.symlink_to(repo / "geoseg" / "qgis_plugin")
    monkeypatch.delenv(runner.EXECUTABLE_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert runner.find_geoseg(link) == str(exe)


@pytest.mark.slow
def test_the_real_geoseg_prints_parseable_progress(tmp_path: Path) -> None:
    """geoseg classify on the sample scene: the bars come through the pipe and are read."""
    from tests.conftest import NORCIA

    exe = Path(sys.executable).parent / "geoseg"
    seen: list[Progress] = []
    result = runner.run_geoseg(
        str(exe),
        ["classify", str(NORCIA), "-o", str(tmp_path), "--no-stac"],
        seen.append,
        env={"OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.lines
    phases = [p.phase for p in seen]
    assert {"classify", "write", "vectorize"} <= set(phases)
    assert seen[-1].percent == 100
    assert any(p.endswith("_classes.tif") for p in runner.output_paths(result.lines))
    assert not any("\x1b" in line for line in result.lines)
