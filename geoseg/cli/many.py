"""``geoseg classify A B C …``: several scenes in one command, each into its own subfolder.

Options are checked once, before any scene is read. A scene that fails is reported in one line and
the rest still run; the exit code says whether all succeeded (0) or not (2), and a table sums up.
Ctrl-C stops the batch: the scene in progress leaves nothing (as a single run would), the scenes
finished so far keep their outputs and are listed, and a rerun skips every scene whose outputs are
complete and current (same inputs, model and options: :func:`geoseg.run.catalog.finished`).
"""

from __future__ import annotations

import glob
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from geoseg.cli.common import Terminated, err, out, outputs_in_place
from geoseg.errors import GeosegError, InputError
from geoseg.io.geotiff import RASTER_SUFFIXES

if TYPE_CHECKING:
    from geoseg.io.read_options import ReadOptions
    from geoseg.run.classify import ClassifyResult
    from geoseg.run.identity import RunSummary
    from geoseg.run.options import Options

#: what a folder of products holds (a folder of band GeoTIFFs is one scene, not a batch)
PRODUCT_SUFFIXES = (".safe", ".zip")


def expand(args: list[str]) -> list[str]:
    """The scenes the arguments name: paths and URLs as given, glob patterns matched (a pattern
    that matches nothing is an error), a folder holding ``.SAFE``/``.zip`` products as those,
    and a folder holding no raster of its own but scene folders (band files) as those."""
    scenes: list[str] = []
    for arg in args:
        if glob.has_magic(arg) and "://" not in arg:
            matches = sorted(glob.glob(arg))
            if not matches:
                raise InputError("no file matches the pattern", arg, "check the pattern and path")
            scenes += matches
        elif _product_folder(Path(arg)):
            scenes += [str(p) for p in sorted(Path(arg).iterdir()) if _is_product(p)]
        elif folders := _scene_folders(Path(arg)):
            scenes += [str(p) for p in folders]
        else:
            scenes.append(arg)
    return scenes


def _is_product(path: Path) -> bool:
    return path.suffix.lower() in PRODUCT_SUFFIXES


def _product_folder(path: Path) -> bool:
    return path.is_dir() and not _is_product(path) and any(map(_is_product, path.iterdir()))


def _scene_folders(path: Path) -> list[Path]:
    """The scene folders (of band rasters) in a folder that holds no raster itself: a folder of
    crops is a batch, as a folder of products is; a folder of band files stays one scene."""
    if not path.is_dir() or _is_product(path) or any(map(_is_raster, path.iterdir())):
        return []
    return [p for p in sorted(path.iterdir()) if p.is_dir() and any(map(_is_raster, p.iterdir()))]


def _is_raster(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in RASTER_SUFFIXES


def subfolders(scenes: list[str], out_dir: Path) -> list[Path]:
    """One output folder per scene, named after it (``-2``, ``-3`` … where names repeat)."""
    seen: dict[str, int] = {}
    folders = []
    for scene in scenes:
        name = scene.rstrip("/").rsplit("/", 1)[-1]
        for suffix in (".zip", ".SAFE", ".json", ".tif", ".tiff"):
            name = name.removesuffix(suffix)
        seen[name] = seen.get(name, 0) + 1
        folders.append(out_dir / (name if seen[name] == 1 else f"{name}-{seen[name]}"))
    return folders


@dataclass
class Outcome:
    """What became of one scene of a batch: a row of the table."""

    scene: str
    folder: Path
    seconds: float
    result: ClassifyResult | None = None
    error: str = ""
    kept: RunSummary | None = None  # outputs an earlier run left complete and current
    stopped: str = ""  # "interrupted"/"terminated" (the scene in progress), "not run" (the rest)

    @property
    def done(self) -> bool:
        return self.result is not None or self.kept is not None

    @property
    def status(self) -> str:
        if self.result is not None:
            return "ok"
        return "current" if self.kept is not None else self.stopped or "failed"


#: classifies a scene into its output folder
RunOne = Callable[[str, Path], "ClassifyResult"]
#: (scene, its output folder) → the stats JSON of its outputs when they are complete and
#: current (same inputs, model and options), else None
Current = Callable[[str, Path], "RunSummary | None"]


def current_outputs(
    scene: str, folder: Path, model: Path | None, options: Options, read: ReadOptions
) -> RunSummary | None:
    """The stats JSON of ``scene``'s outputs in ``folder`` if a rerun may skip it: every output
    there, from the same inputs, model and result options (the catalogue's done-check). A scene
    that cannot be opened is not current; running it reports why."""
    from geoseg.run.catalog import SceneRequest, finished

    if any(getattr(read, k) is not None for k in ("bands", "nodata", "offset", "scale")):
        return None  # how the bands were read is not in the stats JSON: cannot tell, so rerun
    request = SceneRequest(
        scene=scene, out_dir=str(folder), model=str(model) if model else None,
        options=options, read=read,
    )  # fmt: skip
    try:
        return finished(request)
    except GeosegError:
        return None


def run_many(
    scenes: list[str],
    out_dir: Path,
    run_one: RunOne,
    current: Current | None = None,
) -> None:
    """Run ``run_one`` on every scene into its subfolder, skipping those ``current`` finds done;
    report, and exit 2 if any failed. Ctrl-C (SIGTERM) keeps the scenes finished so far, prints
    the table so far and exits 130 (143); a rerun skips those scenes."""
    jobs = list(zip(scenes, subfolders(scenes, out_dir), strict=True))
    outcomes: list[Outcome] = []
    try:
        for i, (scene, folder) in enumerate(jobs):
            err.print(f"scene {i + 1}/{len(jobs)}: {scene}", highlight=False, soft_wrap=True)
            outcomes.append(_run_scene(scene, folder, run_one, current))
    except (KeyboardInterrupt, Terminated) as exc:
        with outputs_in_place():
            _stopped(jobs, outcomes, current, "terminated" if isinstance(exc, Terminated) else "")
    with outputs_in_place():
        _summary(outcomes)
    if not all(o.done for o in outcomes):
        raise typer.Exit(2)


def _run_scene(scene: str, folder: Path, run_one: RunOne, current: Current | None) -> Outcome:
    t0 = time.perf_counter()
    kept = current(scene, folder) if current is not None else None
    if kept is not None:
        err.print(
            f"  outputs in {folder} are current (same input, model and options): kept",
            highlight=False, soft_wrap=True, markup=False,
        )  # fmt: skip
        return Outcome(scene, folder, time.perf_counter() - t0, kept=kept)
    try:
        result = run_one(scene, folder)
    except GeosegError as exc:
        err.print(f"geoseg: error: {exc}", highlight=False, soft_wrap=True, markup=False)
        return Outcome(scene, folder, time.perf_counter() - t0, error=str(exc))
    for warning in result.warnings:
        err.print(f"geoseg: warning: {warning}", highlight=False, soft_wrap=True)
    return Outcome(scene, folder, time.perf_counter() - t0, result)


def _stopped(
    jobs: list[tuple[str, Path]], outcomes: list[Outcome], current: Current | None, word: str
) -> NoReturn:
    """The batch was interrupted (``word``: "terminated" for SIGTERM): the table so far, which
    scenes finished, one line, exit 130 (143). The scene in progress left nothing at its output
    paths, unless the interrupt came after its outputs were in place (then it is current)."""
    word, number = word or "interrupted", len(outcomes) + 1
    scene, folder = jobs[number - 1]
    kept = current(scene, folder) if current is not None else None
    outcomes.append(Outcome(scene, folder, 0.0, kept=kept, stopped=word))
    outcomes += [Outcome(s, f, 0.0, stopped="not run") for s, f in jobs[len(outcomes) :]]
    _summary(outcomes)
    finished = sum(o.done for o in outcomes)
    left = "its outputs are complete" if kept else "nothing of it was written at its output paths"
    rerun = "skips the scenes whose outputs are current" if current else "recomputes every scene"
    print(
        f"geoseg: {word}: during scene {number}/{len(jobs)} ({Path(scene).name}): {left}; "
        f"the outputs of the {finished} finished scene(s) are kept; a rerun {rerun} and "
        "reuses the chunks already finished",
        file=sys.stderr,
    )
    raise typer.Exit(128 + (signal.SIGTERM if word == "terminated" else signal.SIGINT))


def _print_whole(table: Table) -> None:
    """The table as wide as its longest names when stdout is no terminal (a cron log, a pipe):
    a terminal's width is the reader's, a log's 80 columns would cut names to ``oscd_milano_2…``."""
    if out.is_terminal:
        out.print(table)
        return
    need = Measurement.get(out, out.options.update_width(100_000), table).maximum
    Console(file=out.file, width=max(need, out.width), highlight=False).print(table)


def _summary(outcomes: list[Outcome]) -> None:
    table = Table(title=f"{len(outcomes)} scenes")
    for col in ("scene", "status", "valid %", "largest class", "seconds", "outputs"):
        table.add_column(col, justify="right" if col in ("valid %", "seconds") else "left")
    for o in outcomes:
        seconds = f"{o.seconds:.1f}" if o.status != "not run" else ""
        if not o.done:
            table.add_row(Path(o.scene).name, o.status, "", "", seconds, o.error)
            continue
        valid, top = _figures(o)
        table.add_row(Path(o.scene).name, o.status, valid, top, seconds, str(o.folder))
    _print_whole(table)
    done, kept = sum(o.done for o in outcomes), sum(o.kept is not None for o in outcomes)
    note = f" ({kept} current from an earlier run, not recomputed)" if kept else ""
    out.print(f"{done} of {len(outcomes)} scenes classified{note}.")


def _figures(o: Outcome) -> tuple[str, str]:
    """Valid share and largest class of a finished scene, from its result or its stats JSON."""
    if o.result is not None:
        valid, total = o.result.valid_pixels, o.result.total_pixels
        stats = o.result.stats
        shares = dict(zip(stats.class_name.astype(str), stats.share_pct.astype(float), strict=True))
    else:
        assert o.kept is not None
        valid, total = o.kept.valid_pixels, o.kept.width * o.kept.height
        shares = {c.class_name: c.share_pct for c in o.kept.classes}
    top = max(shares, key=lambda name: shares[name]) if shares else None
    largest = f"{top} {shares[top]:.1f} %" if top is not None else "-"
    return f"{100.0 * valid / max(total, 1):.1f}", largest
