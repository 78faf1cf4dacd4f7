"""The package version: a leaf module, so nothing imports the package root to learn it."""

__version__ = "0.1.0"
