"""Expected failures, each with what went wrong, where, and what to do about it.

The CLI turns any :class:`GeosegError` into one line on stderr and exit code 2; library users catch
the class that fits. Messages read ``<what> (<where>): <remedy>``.
"""

from __future__ import annotations

from pathlib import Path


class GeosegError(Exception):
    """Base class: a failure the user can act on (bad input, bad bundle, unwritable output)."""

    exit_code = 2

    def __init__(self, what: str, where: str | Path | None = None, remedy: str = "") -> None:
        self.what = what
        self.where = str(where) if where is not None else None
        self.remedy = remedy
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.what
        if self.where:
            text += f" ({self.where})"
        if self.remedy:
            text += f": {self.remedy}"
        return text


class InputError(GeosegError):
    """The scene cannot be used: missing, not a raster, corrupt, no CRS, no bands, all nodata."""


class BandError(InputError):
    """The scene lacks bands the model needs, or they cannot be told apart."""


class BundleError(GeosegError):
    """The model bundle is missing, corrupt, or does not match its own description."""


class OutputError(GeosegError):
    """The outputs cannot be written where asked."""


class OptionError(GeosegError):
    """A setting is out of its range or unknown: caught where options are built, before any work."""


def out_of_range(name: str, value: object, allowed: str) -> OptionError:
    """The one-line error of an option outside its range, named by its CLI flag."""
    flag = "--" + name.replace("_", "-").removesuffix("-ha").removesuffix("-m")
    return OptionError(f"{flag} {value!r} is out of range", None, f"use {allowed}")
