"""``geoseg qgis``: the QGIS plugin (a ``geoseg`` provider in the Processing toolbox) installed
into a QGIS user profile, and where its source lies.

The plugin is the folder ``geoseg/qgis_plugin/`` (in the checkout and the wheel alike: a
subpackage, so the wheel installs no generic top-level ``qgis_plugin`` that another
distribution's could clash with); in a profile it is ``python/plugins/geoseg_processing``. It
runs the ``geoseg`` command of this environment, whose path ``install`` records beside the copied
plugin.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from geoseg.cli.common import out, user_errors
from geoseg.errors import GeosegError, OutputError

#: the plugin's folder name in a QGIS profile (``python/plugins/<name>``)
PLUGIN_NAME = "geoseg_processing"
#: the file in the installed plugin naming the geoseg executable (its runner.py reads it)
INSTALL_RECORD = "geoseg_executable.txt"

EXAMPLES = """
Examples:

  geoseg qgis install                    # the default profile of this user's QGIS

  geoseg qgis install --profile work     # another QGIS profile

  geoseg qgis install --qgis-dir /data/qgis-config   # QGIS started with --profiles-path

  geoseg qgis install --link             # a symlink to the checkout, for plugin development

  geoseg qgis path                       # where the plugin's source is
"""

qgis_app = typer.Typer(
    help="The QGIS plugin: geoseg's algorithms in the Processing toolbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    epilog=EXAMPLES,
)

Profile = Annotated[str, typer.Option(help="QGIS user profile to install into.")]
QgisDir = Annotated[
    Path | None,
    typer.Option(
        help="QGIS's settings folder, the one holding profiles/ (default: this user's QGIS3 "
        "folder, or $QGIS_CUSTOM_CONFIG_PATH when that is set).",
    ),
]
Link = Annotated[
    bool, typer.Option(help="Symlink the plugin to its source instead of copying (development).")
]
Executable = Annotated[
    Path | None,
    typer.Option(help="The geoseg executable the plugin runs (default: this one)."),
]


def default_qgis_dir() -> Path:
    """This user's QGIS 3 settings folder (the one holding ``profiles/``)."""
    custom = os.environ.get("QGIS_CUSTOM_CONFIG_PATH")
    if custom:
        return Path(custom)  # QGIS reads its profiles from $QGIS_CUSTOM_CONFIG_PATH/profiles
    home = Path.home()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
        return base / "QGIS" / "QGIS3"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "QGIS" / "QGIS3"
    data = os.environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(data) / "QGIS" / "QGIS3"


def plugin_source() -> Path:
    """The plugin's source folder: ``geoseg/qgis_plugin/`` of this checkout or installation."""
    folder = Path(__file__).resolve().parents[1] / "qgis_plugin"
    if (folder / "metadata.txt").is_file():
        return folder
    raise GeosegError(
        "the QGIS plugin is not part of this installation",
        folder,
        "install geoseg from its repository (pip install .) or a wheel built from it",
    )


def this_executable() -> Path | None:
    """The ``geoseg`` executable of this environment."""
    name = "geoseg.exe" if os.name == "nt" else "geoseg"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    argv0 = Path(sys.argv[0])
    if argv0.name in (name, "geoseg") and argv0.is_file():
        return argv0.resolve()
    found = shutil.which("geoseg")
    return Path(found) if found else None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def install_plugin(
    qgis_dir: Path, profile: str, link: bool = False, executable: Path | None = None
) -> Path:
    """Copy (or link) the plugin into ``<qgis_dir>/profiles/<profile>/python/plugins`` and record
    the geoseg executable beside a copy; the installed folder."""
    source = plugin_source()
    dest = qgis_dir / "profiles" / profile / "python" / "plugins" / PLUGIN_NAME
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove(dest)
        if link:
            dest.symlink_to(source, target_is_directory=True)
        else:
            shutil.copytree(
                source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
            )
            if executable is not None:
                (dest / INSTALL_RECORD).write_text(f"{executable}\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(
            f"cannot install the QGIS plugin ({exc.strerror or exc})",
            dest,
            "check the folder's permissions, or give another --qgis-dir",
        ) from exc
    return dest


def install(
    profile: Profile = "default",
    qgis_dir: QgisDir = None,
    link: Link = False,
    executable: Executable = None,
) -> None:
    """Install the geoseg plugin into a QGIS profile; then enable it in QGIS."""
    with user_errors():
        base = qgis_dir or default_qgis_dir()
        fresh = not (base / "profiles" / profile).is_dir()
        exe = executable or this_executable()
        dest = install_plugin(base, profile, link=link, executable=exe)
    out.print(f"Installed the geoseg QGIS plugin: {dest}", highlight=False, soft_wrap=True)
    if link:
        out.print(f"  (a symlink to {plugin_source()})", highlight=False, soft_wrap=True)
    if exe is not None:
        out.print(f"It runs: {exe}", highlight=False, soft_wrap=True)
    else:
        out.print(
            "geoseg's executable was not found: set it in QGIS, Settings > Options > Processing > "
            "Providers > geoseg > geoseg executable.",
            highlight=False,
        )
    if fresh:
        out.print(
            f"(profile '{profile}' did not exist yet: QGIS uses it once it starts with it)",
            highlight=False,
        )
    out.print(
        "Next, in QGIS: Plugins > Manage and Install Plugins… > Installed > tick 'geoseg' "
        "(restart QGIS if it was open). The algorithms are in the Processing Toolbox under "
        "'geoseg'.",
        highlight=False,
    )
    out.print(headless_hint(qgis_dir, profile), highlight=False, soft_wrap=True)


def headless_hint(qgis_dir: Path | None, profile: str) -> str:
    """How to enable the plugin for ``qgis_process``, which loads only enabled plugins: without
    it, ``qgis_process run geoseg:classify`` says the algorithm is not found."""
    env = f"QGIS_CUSTOM_CONFIG_PATH={shlex.quote(str(qgis_dir))} " if qgis_dir else ""
    which = f", which reads the 'default' profile, not '{profile}'" if profile != "default" else ""
    return (
        f"Headless (qgis_process{which}), enable it once:\n"
        f"  {env}qgis_process plugins enable {PLUGIN_NAME}"
    )


def path() -> None:
    """Print the plugin's source folder (to copy it by hand into
    <QGIS profile>/python/plugins/geoseg_processing)."""
    with user_errors():
        source = plugin_source()
    print(source)


qgis_app.command(epilog=EXAMPLES)(install)
qgis_app.command()(path)
