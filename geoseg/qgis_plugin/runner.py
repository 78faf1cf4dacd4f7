"""Find the ``geoseg`` executable, run it, read its progress: no QGIS here (plain pytest tests it).

QGIS's Python has neither geoseg nor torch, so the plugin runs the ``geoseg`` command of the
environment geoseg is installed in, as a subprocess, and reads what it prints. geoseg draws its
progress bars (rich) only on a terminal; :data:`PROGRESS_ENV` asks rich to draw them on the pipe
anyway, and :class:`OutputParser` reads the bars back (``classify  ━━━━━━━  3/12 0:00:04``), as
well as one plain line per step (``geoseg: progress: classify 3/12``) should geoseg print those.
"""

from __future__ import annotations

import codecs
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: the environment variable that names the executable (before any search)
EXECUTABLE_ENV = "GEOSEG_EXECUTABLE"
#: written by ``geoseg qgis install`` into the installed plugin: the geoseg that installed it
INSTALL_RECORD = "geoseg_executable.txt"
#: what makes geoseg draw its progress on a pipe: rich's terminal switches, plain colours, a
#: fixed width, unbuffered Python; ``GEOSEG_PROGRESS=lines`` asks for plain progress lines
PROGRESS_ENV = {
    "TTY_COMPATIBLE": "1",
    "TTY_INTERACTIVE": "1",
    "NO_COLOR": "1",
    "TERM": "xterm",
    "COLUMNS": "120",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "GEOSEG_PROGRESS": "lines",
}
#: what QGIS sets for its own Python and libraries, which must not reach geoseg's environment
#: (its rasterio and pyproj find their own GDAL and PROJ data; QGIS's could be another version)
DROPPED_ENV = (
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONEXECUTABLE",
    "GDAL_DATA",
    "GDAL_DRIVER_PATH",
    "PROJ_LIB",
    "PROJ_DATA",
)
#: share of the whole run each phase of ``geoseg classify`` covers (percent, start and end)
PHASES = {"classify": (0.0, 80.0), "write": (80.0, 85.0), "vectorize": (85.0, 100.0)}
#: seconds geoseg gets to clean up after SIGTERM before it is killed
TERMINATE_GRACE_S = 15.0

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]")
#: a rich bar row: phase, the bar, done/total, elapsed h:mm:ss
_BAR = re.compile(r"^(?P<phase>[A-Za-z][\w-]*)\s.*?(?P<done>\d+)/(?P<total>\d+)\s+\d+:\d\d:\d\d$")
_LINE = re.compile(r"^geoseg: progress: (?P<phase>\S+) (?P<done>\d+)/(?P<total>\d+)$")


@dataclass(frozen=True)
class Progress:
    """One progress report: ``done`` of ``total`` steps of ``phase``."""

    phase: str
    done: int
    total: int

    @property
    def percent(self) -> float:
        """The whole run's progress, 0-100, with the phase placed by :data:`PHASES`."""
        start, end = PHASES.get(self.phase, (0.0, 100.0))
        share = min(max(self.done / self.total, 0.0), 1.0) if self.total > 0 else 0.0
        return start + (end - start) * share


def strip_ansi(text: str) -> str:
    """``text`` without terminal control sequences."""
    return _ANSI.sub("", text)


def parse_progress(segment: str) -> Progress | None:
    """The progress a line (or a ``\\r``-separated redraw) reports, or None."""
    text = strip_ansi(segment).strip()
    m = _LINE.match(text) or _BAR.match(text)
    if m is None:
        return None
    return Progress(m["phase"], int(m["done"]), int(m["total"]))


class OutputParser:
    """Splits geoseg's output, fed in chunks as it arrives, into progress and text lines.

    A redraw of the bars ends at ``\\r`` or a newline; text lines end at a newline. Terminal codes
    are removed; a progress report repeated by a redraw is given once."""

    def __init__(self) -> None:
        self._buffer = ""
        self._last: dict[str, Progress] = {}
        self.lines: list[str] = []

    def feed(self, chunk: str) -> tuple[list[Progress], list[str]]:
        """New progress reports and new complete text lines in ``chunk``."""
        self._buffer += chunk
        parts = re.split(r"\r\n|\r|\n", self._buffer)
        self._buffer = parts.pop()
        return self._take(parts)

    def close(self) -> tuple[list[Progress], list[str]]:
        """What is left once the output has ended."""
        rest, self._buffer = self._buffer, ""
        return self._take([rest])

    def _take(self, parts: Iterable[str]) -> tuple[list[Progress], list[str]]:
        reports: list[Progress] = []
        lines: list[str] = []
        for part in parts:
            progress = parse_progress(part)
            if progress is not None:
                if self._last.get(progress.phase) != progress:
                    self._last[progress.phase] = progress
                    reports.append(progress)
                continue
            text = strip_ansi(part).rstrip()
            if text.strip():
                lines.append(text)
        self.lines.extend(lines)
        return reports, lines


def output_paths(lines: Sequence[str]) -> list[str]:
    """The paths ``geoseg classify`` lists under ``Outputs:`` at the end of its summary."""
    paths: list[str] = []
    inside = False
    for line in lines:
        if line.strip() == "Outputs:":
            inside, paths = True, []
        elif inside and line.startswith("  ") and line.strip():
            paths.append(line.strip())
        else:
            inside = False
    return paths


#: geoseg's one-line failure messages
MESSAGE_PREFIXES = ("geoseg: error:", "geoseg: interrupted:", "geoseg: terminated:")


def _usage_error(line: str) -> str | None:
    """The message of a typer usage error's box line (``│ No such option: --x │``), or None."""
    text = line.strip(" │|╭╰─╮╯")
    usage = text.startswith(("Error", "No such option", "Invalid value", "Missing"))
    return text if usage else None


def error_message(lines: Sequence[str]) -> str | None:
    """geoseg's one-line error (``geoseg: error: …``), a usage error, or a traceback's last line
    (the whole traceback is in the log)."""
    for line in lines:
        if line.startswith(MESSAGE_PREFIXES):
            return line
    if any(line.startswith("Traceback") for line in lines):
        return f"geoseg failed (traceback in the log): {lines[-1].strip()}"
    for line in reversed(lines):
        if (text := _usage_error(line)) is not None:
            return text
    return None


def is_message(line: str) -> bool:
    """Whether ``line`` is a failure message that :func:`error_message` makes the algorithm's
    error."""
    return line.startswith(MESSAGE_PREFIXES) or _usage_error(line) is not None


def log_only(on_line: Callable[[str], None]) -> Callable[[str], None]:
    """``on_line`` for every line but the failure messages: QGIS reports the error the plugin
    raises with it, so echoed to the log as well, qgis_process printed it once more."""

    def echo(line: str) -> None:
        if not is_message(line):
            on_line(line)

    return echo


# --- finding the executable ------------------------------------------------------------------


def _exe_name() -> str:
    return "geoseg.exe" if os.name == "nt" else "geoseg"


def _bin_dir() -> str:
    return "Scripts" if os.name == "nt" else "bin"


def usable(path: str | os.PathLike[str] | None) -> str | None:
    """``path`` if it is an executable file (a venv or its bin folder: the geoseg in it)."""
    if not path:
        return None
    p = Path(os.path.expanduser(str(path)))
    if p.is_dir():  # a venv or its bin folder
        for candidate in (p / _exe_name(), p / _bin_dir() / _exe_name()):
            if candidate.is_file():
                return str(candidate)
        return None
    return str(p) if p.is_file() and os.access(p, os.X_OK) else None


def candidates(plugin_dir: Path, configured: str | None = None) -> list[str]:
    """Where to look for geoseg, in order: the setting, ``$GEOSEG_EXECUTABLE``, the geoseg that
    installed the plugin, a ``.venv`` of the checkout the plugin links to (it is the checkout's
    ``geoseg/qgis_plugin``), then ``PATH`` and the usual user-level folders."""
    found: list[str] = []
    if configured:
        found.append(configured)
    if os.environ.get(EXECUTABLE_ENV):
        found.append(os.environ[EXECUTABLE_ENV])
    record = plugin_dir / INSTALL_RECORD
    if record.is_file():
        found.append(record.read_text(encoding="utf-8").strip())
    repo = plugin_dir.resolve().parents[1]
    found.append(str(repo / ".venv" / _bin_dir() / _exe_name()))
    on_path = shutil.which("geoseg")
    if on_path:
        found.append(on_path)
    home = Path.home()
    found += [
        str(home / ".local" / "bin" / _exe_name()),
        str(home / "miniforge3" / "envs" / "geoseg" / _bin_dir() / _exe_name()),
        str(home / "mambaforge" / "envs" / "geoseg" / _bin_dir() / _exe_name()),
        str(home / "miniconda3" / "envs" / "geoseg" / _bin_dir() / _exe_name()),
        str(home / "anaconda3" / "envs" / "geoseg" / _bin_dir() / _exe_name()),
    ]
    return found


def find_geoseg(plugin_dir: Path, configured: str | None = None) -> str | None:
    """The first usable geoseg executable of :func:`candidates`, or None. A configured path that
    is not usable is not skipped silently: it is returned as given, so the error names it."""
    if configured and not usable(configured):
        return configured
    for candidate in candidates(plugin_dir, configured):
        found = usable(candidate)
        if found:
            return found
    return None


# --- running it --------------------------------------------------------------------------------


@dataclass
class RunResult:
    """How a run ended and the text lines it printed (terminal codes removed)."""

    returncode: int
    lines: list[str] = field(default_factory=list)
    canceled: bool = False
    seconds: float = 0.0


def _popen_kwargs() -> dict[str, object]:
    if os.name == "nt":
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        flags |= getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}  # QGIS's own signals do not reach it


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (geoseg removes its staging folders and exits 143), then a kill if it lingers."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "nt":
            proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(TERMINATE_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_geoseg(
    executable: str,
    args: Sequence[str],
    on_progress: Callable[[Progress], None] = lambda p: None,
    on_line: Callable[[str], None] = lambda line: None,
    is_canceled: Callable[[], bool] = lambda: False,
    env: dict[str, str] | None = None,
    poll_s: float = 0.1,
) -> RunResult:
    """Run ``executable ARGS``: progress and text lines to the callbacks as they come, stopped
    when ``is_canceled()`` turns true. stdout and stderr are read together."""
    full_env = dict(os.environ)
    full_env.update(PROGRESS_ENV)
    for key in DROPPED_ENV:
        full_env.pop(key, None)
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.Popen(
        [executable, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=full_env,
        bufsize=0,
        **_popen_kwargs(),  # type: ignore[call-overload]
    )
    chunks: queue.Queue[bytes | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        while True:
            data = proc.stdout.read(65536)
            if not data:
                break
            chunks.put(data)
        chunks.put(None)

    reader = threading.Thread(target=read, name="geoseg-output", daemon=True)
    reader.start()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parser = OutputParser()
    canceled = False

    def handle(reports: list[Progress], lines: list[str]) -> None:
        for report in reports:
            on_progress(report)
        for line in lines:
            on_line(line)

    ended = False
    while not ended:
        if not canceled and is_canceled():
            canceled = True
            _stop(proc)
        try:
            data = chunks.get(timeout=poll_s)
        except queue.Empty:
            continue
        if data is None:
            ended = True
            handle(*parser.feed(decoder.decode(b"", final=True)))
            handle(*parser.close())
        else:
            handle(*parser.feed(decoder.decode(data)))
    returncode = proc.wait()
    reader.join(1.0)
    if proc.stdout is not None:
        proc.stdout.close()
    return RunResult(returncode, parser.lines, canceled, time.monotonic() - start)
