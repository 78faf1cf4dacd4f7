"""A classify run: options, output paths, identity, staging, the stages and the catalogue."""
