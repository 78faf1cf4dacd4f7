"""What every command shares: the consoles, the one error handler, progress bars, metric tables.

Commands print results on stdout (:data:`out`) and everything transient or failing on stderr, so
``geoseg … > file`` keeps only the results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from geoseg.errors import GeosegError

if TYPE_CHECKING:
    from geoseg.models.bundle import Bundle
    from geoseg.run.results import Progress as Report

out = Console()
err = Console(stderr=True)

#: ``--debug`` of the current invocation, set by the app's callback; ``console``: this process
#: is the ``geoseg`` command itself (:func:`geoseg.cli.main`), not a caller running it in-process
_state = {"debug": False, "console": False}


def set_debug(on: bool) -> None:
    """``geoseg --debug``: let tracebacks through. The app's callback sets it on every invocation,
    so one run cannot leave it on for the next."""
    _state["debug"] = on


def pick(values: Mapping[str, Any], target: type) -> dict[str, Any]:
    """The command's option values that ``target`` (a dataclass or pydantic model) has fields for.

    A command declares each option once, in its signature; named like the field it sets, it is
    passed on without a second list of ``name=name`` lines."""
    fields = getattr(target, "model_fields", None) or {f.name for f in dataclasses.fields(target)}
    return {k: v for k, v in values.items() if k in fields}


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt so that every
    ``finally`` runs: staging folders are removed and finished chunks stay for a rerun."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


#: what an interrupted run leaves, said on its one line
INTERRUPTED = "nothing was written at the output paths; a rerun reuses the chunks already finished"


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """One line and exit code 2 for expected failures; the traceback only with ``--debug``.

    Ctrl-C exits 130 and SIGTERM 143 (128 + the signal, as shells do), also with one line."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main else None
    try:
        yield
    except GeosegError as exc:
        if _state["debug"]:
            raise
        print(f"geoseg: error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        print(f"geoseg: interrupted: {INTERRUPTED}", file=sys.stderr)
        raise typer.Exit(128 + signal.SIGINT) from None
    except Terminated:
        print(f"geoseg: terminated: {INTERRUPTED}", file=sys.stderr)
        raise typer.Exit(128 + signal.SIGTERM) from None
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def set_console() -> None:
    """Mark this process as the ``geoseg`` command (:func:`geoseg.cli.main`): Ctrl-C after the
    outputs are in place is then ignored until the process exits (:func:`outputs_in_place`)."""
    _state["console"] = True


@contextlib.contextmanager
def outputs_in_place() -> Iterator[None]:
    """Ctrl-C ignored while the summary of outputs already in place is printed: an interrupt
    there could only cut the summary short or, in the seconds the interpreter takes to unload
    PyTorch, kill the process without a word (exit -2). The ``geoseg`` command keeps it ignored
    to its exit; an in-process caller (tests, notebooks) gets its Ctrl-C back after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if not _state["console"]:
            signal.signal(signal.SIGINT, previous)


#: ``GEOSEG_PROGRESS=lines``: progress as plain lines on stderr for programs reading the pipe
#: (the QGIS plugin), ``geoseg: progress: PHASE DONE/TOTAL`` at each step
PROGRESS_ENV = "GEOSEG_PROGRESS"


def _progress_lines(phase: str, done: int, total: int) -> None:
    # one write per line: the polygon thread reports while the chunks do
    sys.stderr.write(f"geoseg: progress: {phase} {done}/{total}\n")
    sys.stderr.flush()


@contextlib.contextmanager
def progress_bars() -> Iterator[Report]:
    """A bar per phase on stderr while a run works; nothing when stderr is not a terminal
    (plain lines with ``GEOSEG_PROGRESS=lines``)."""
    if os.environ.get(PROGRESS_ENV) == "lines":
        yield _progress_lines
        return
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,  # gone when done: the summary (or one error line) is what stays
        disable=not err.is_terminal,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield report


def print_precisions(bundle: Bundle) -> None:
    """Each precision checked against fp32 (``geoseg quantize``), and what ``auto`` uses here."""
    from geoseg.engine.precision import resolve_precision, validated

    for name, c in bundle.spec.precisions.items():
        verdict = "passes" if validated(bundle, name) else "not used by auto here"
        out.print(
            f"  {name + ':':<14}{100 * c.agreement:.2f} % of pixels as fp32, OA "
            f"{c.oa_delta:+.2f}, largest IoU change {c.max_iou_delta:.2f} points ({verdict})",
            highlight=False,
        )
    out.print(f"  precision:    auto = {resolve_precision('auto', 'cpu', bundle)} on this CPU")


def names(text: str) -> list[str]:
    """``"ndvi, NDWI"`` → ``["NDVI", "NDWI"]``: the comma lists of ``--indices``."""
    return [name.strip().upper() for name in text.split(",") if name.strip()]


def print_metrics(m: dict[str, Any], title: str) -> None:
    """The headline agreement figures and the per-class table of an evaluation."""

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    out.print(
        f"[bold]{title}[/bold]: {m['pixels']:,} px · OA {pct(m['overall_accuracy'])} % · "
        f"mIoU {num(m['miou'])} (classes ≥ {100 * m['miou_min_share']:g} % of reference) · "
        f"FW-IoU {pct(m['fw_iou'])} % · kappa {num(m['kappa'])}"
    )
    table = Table()
    for col in ("class", "ref %", "IoU", "F1", "precision", "recall"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for name, c in m["per_class"].items():
        table.add_row(
            name,
            pct(c["share"]),
            pct(c["iou"]),
            pct(c["f1"]),
            pct(c["precision"]),
            pct(c["recall"]),
        )
    out.print(table)
