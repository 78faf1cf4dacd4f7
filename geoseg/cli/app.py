"""The ``geoseg`` Typer app: the global ``--debug`` flag and the commands, one module each.

Commands are plain functions registered here, so no command module imports this one: the
package has no import cycle, and ``geoseg --help`` loads no library code (commands import it
when they run).
"""

from __future__ import annotations

from typing import Annotated

import typer

from geoseg.cli.area_estimate import EXAMPLES as AREA_ESTIMATE_EXAMPLES
from geoseg.cli.area_estimate import area_estimate
from geoseg.cli.calibrate import EXAMPLES as CALIBRATE_EXAMPLES
from geoseg.cli.calibrate import calibrate
from geoseg.cli.change import EXAMPLES as CHANGE_EXAMPLES
from geoseg.cli.change import change
from geoseg.cli.classify import EXAMPLES as CLASSIFY_EXAMPLES
from geoseg.cli.classify import classify
from geoseg.cli.common import set_debug
from geoseg.cli.evaluate import EXAMPLES as EVALUATE_EXAMPLES
from geoseg.cli.evaluate import evaluate
from geoseg.cli.export import EXAMPLES as EXPORT_EXAMPLES
from geoseg.cli.export import export
from geoseg.cli.info import info
from geoseg.cli.qgis import qgis_app
from geoseg.cli.quantize import EXAMPLES as QUANTIZE_EXAMPLES
from geoseg.cli.quantize import quantize
from geoseg.cli.quicklook import EXAMPLES as QUICKLOOK_EXAMPLES
from geoseg.cli.quicklook import quicklook
from geoseg.cli.sample import EXAMPLES as SAMPLE_EXAMPLES
from geoseg.cli.sample import sample
from geoseg.cli.train import EXAMPLES as TRAIN_EXAMPLES
from geoseg.cli.train import train
from geoseg.cli.zonal import EXAMPLES as ZONAL_EXAMPLES
from geoseg.cli.zonal import zonal

app = typer.Typer(
    name="geoseg",
    help="Sentinel-2 land-cover maps: class COG rasters, GeoPackage polygons and area statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    """``geoseg --version``: answered before any command is parsed, from the leaf version module,
    so it costs no more than ``--help``."""
    if value:
        from geoseg._version import __version__

        print(f"geoseg {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    set_debug(debug)


# the order of ``geoseg --help``
app.command(epilog=CLASSIFY_EXAMPLES)(classify)
app.command(epilog=QUICKLOOK_EXAMPLES)(quicklook)
app.command()(info)
app.command(epilog=TRAIN_EXAMPLES)(train)
app.command(epilog=EVALUATE_EXAMPLES)(evaluate)
app.command(epilog=CALIBRATE_EXAMPLES)(calibrate)
app.command(epilog=QUANTIZE_EXAMPLES)(quantize)
app.command(epilog=SAMPLE_EXAMPLES)(sample)
app.command("area-estimate", epilog=AREA_ESTIMATE_EXAMPLES)(area_estimate)
app.command(epilog=ZONAL_EXAMPLES)(zonal)
app.command(epilog=CHANGE_EXAMPLES)(change)
app.command(epilog=EXPORT_EXAMPLES)(export)
app.add_typer(qgis_app, name="qgis")
