"""The app: every command in its place, and ``geoseg --help``/``--version`` without the
library's weight."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli.conftest import invoke

COMMANDS = [
    "classify",
    "quicklook",
    "info",
    "train",
    "evaluate",
    "quantize",
    "sample",
    "area-estimate",
    "zonal",
    "change",
    "export",
    "qgis",
]


def test_commands_are_listed_in_order() -> None:
    res = invoke("--help")
    assert res.exit_code == 0
    where = [res.stdout.find(f"│ {name} ") for name in COMMANDS]
    assert -1 not in where and where == sorted(where), res.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    res = invoke(command, "--help")
    assert res.exit_code == 0 and "Usage: geoseg " in res.stdout
    assert ("Examples" in res.stdout) == (command != "info")


def test_version() -> None:
    from geoseg._version import __version__

    res = invoke("--version")
    assert res.exit_code == 0 and res.stdout == f"geoseg {__version__}\n"


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_no_library_code(flag: str) -> None:
    code = (
        "import sys\n"
        "from geoseg.cli import main\n"
        f"sys.argv = ['geoseg', '{flag}']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'rasterio', 'geoseg')"
        " and not m.startswith('geoseg.cli')))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(eval(res.stdout.strip().splitlines()[-1]))
    assert loaded <= {"geoseg", "geoseg._version", "geoseg.errors"}, loaded
