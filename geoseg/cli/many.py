"""``geoseg classify A B C …``: several scenes in one command, each into its own subfolder.

Options are checked once, before any scene is read. A scene that fails is reported in one line and
the rest still run; the exit code says whether all succeeded (0) or not (2), and a table sums up.
Ctrl-C stops the whole batch (the scene in progress leaves nothing, as a single run would).
"""

from __future__ import annotations

import glob
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from geoseg.cli.common import err, out
from geoseg.errors import GeosegError, InputError

if TYPE_CHECKING:
    from geoseg.run.classify import ClassifyResult

#: what a folder of products holds (a folder of band GeoTIFFs is one scene, not a batch)
PRODUCT_SUFFIXES = (".safe", ".zip")


def expand(args: list[str]) -> list[str]:
    """The scenes the arguments name: paths and URLs as given, glob patterns matched (a pattern
    that matches nothing is an error), and a folder holding ``.SAFE``/``.zip`` products as those."""
    scenes: list[str] = []
    for arg in args:
        if glob.has_magic(arg) and "://" not in arg:
            matches = sorted(glob.glob(arg))
            if not matches:
                raise InputError("no file matches the pattern", arg, "check the pattern and path")
            scenes += matches
        elif _product_folder(Path(arg)):
            scenes += [str(p) for p in sorted(Path(arg).iterdir()) if _is_product(p)]
        else:
            scenes.append(arg)
    return scenes


def _is_product(path: Path) -> bool:
    return path.suffix.lower() in PRODUCT_SUFFIXES


def _product_folder(path: Path) -> bool:
    return path.is_dir() and not _is_product(path) and any(map(_is_product, path.iterdir()))


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
    scene: str
    folder: Path
    seconds: float
    result: ClassifyResult | None = None
    error: str = ""


def run_many(
    scenes: list[str], out_dir: Path, run_one: Callable[[str, Path], ClassifyResult]
) -> None:
    """Run ``run_one`` on every scene into its subfolder, report, and exit 2 if any failed."""
    outcomes = []
    for i, (scene, folder) in enumerate(zip(scenes, subfolders(scenes, out_dir), strict=True)):
        err.print(f"scene {i + 1}/{len(scenes)}: {scene}", highlight=False, soft_wrap=True)
        t0 = time.perf_counter()
        try:
            result = run_one(scene, folder)
        except GeosegError as exc:
            err.print(f"geoseg: error: {exc}", highlight=False, soft_wrap=True, markup=False)
            outcomes.append(Outcome(scene, folder, time.perf_counter() - t0, error=str(exc)))
        else:
            for warning in result.warnings:
                err.print(f"geoseg: warning: {warning}", highlight=False, soft_wrap=True)
            outcomes.append(Outcome(scene, folder, time.perf_counter() - t0, result))
    _summary(outcomes)
    if any(o.result is None for o in outcomes):
        raise typer.Exit(2)


def _summary(outcomes: list[Outcome]) -> None:
    table = Table(title=f"{len(outcomes)} scenes")
    for col in ("scene", "status", "valid %", "largest class", "seconds", "outputs"):
        table.add_column(col, justify="right" if col in ("valid %", "seconds") else "left")
    for o in outcomes:
        r = o.result
        if r is None:
            table.add_row(Path(o.scene).name, "failed", "", "", f"{o.seconds:.1f}", o.error)
            continue
        top = r.stats.sort_values("share_pct").iloc[-1] if len(r.stats) else None
        table.add_row(
            Path(o.scene).name,
            "ok",
            f"{100.0 * r.valid_pixels / max(r.total_pixels, 1):.1f}",
            f"{top.class_name} {top.share_pct:.1f} %" if top is not None else "-",
            f"{o.seconds:.1f}",
            str(o.folder),
        )
    out.print(table)
    failed = sum(o.result is None for o in outcomes)
    out.print(f"{len(outcomes) - failed} of {len(outcomes)} scenes classified.")
