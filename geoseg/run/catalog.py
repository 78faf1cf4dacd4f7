"""Scene catalogues for scheduled runs: which scenes to classify, where, with which options, and
whether a scene is already done with the same model and inputs (so nightly runs are idempotent).

A catalogue is a YAML file (``tiles/catalog.yaml``)::

    out_dir: ../outputs          # relative to this file; one sub-folder per scene
    model: null                  # default: the shipped model
    options: {min_area_ha: 0.1}  # geoseg.Options fields, for every scene
    read: {scl_classes: [3, 8, 9, 10]}  # how to read the scenes (geoseg.io.open_scene options)
    scenes:
      - scene: ../samples/norcia_20171018
      - watch: /data/incoming/*.tif   # every match is a scene (new files appear each night)
        options: {indices: [NDVI]}    # merged over the defaults above

Each scene writes into its own sub-folder, so a rerun there (the same scene with other options
or masks, or its file rewritten in place) replaces its outputs; the outputs of another scene of
the same name found there are refused like on the command line, unless ``options:
{overwrite: true}``.

Plain Python and pydantic: the Prefect flows in ``flows/`` and any other scheduler use it alike.
"""

from __future__ import annotations

import glob
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geoseg.errors import InputError, OptionError
from geoseg.io.read_options import ReadOptions
from geoseg.models.bundle import DEFAULT_BUNDLE, WEIGHTS_FILE, Bundle, load_bundle
from geoseg.run.identity import RunSummary, result_options, source_identity
from geoseg.run.options import Options, OptionsField
from geoseg.run.paths import RunPaths, named_folder


class SceneRequest(BaseModel):
    """One scene to classify: what the ``classify_scene`` flow takes, validated before any work."""

    model_config = ConfigDict(extra="forbid")

    scene: str = Field(
        min_length=1, description="GeoTIFF, folder of band GeoTIFFs, .SAFE, .zip or STAC item"
    )
    out_dir: str = Field("geoseg-output", min_length=1, description="folder for the outputs")
    model: str | None = Field(None, description="model bundle folder; default: the shipped one")
    options: OptionsField = Field(
        default_factory=Options, description="geoseg.Options fields (flat)"
    )
    read: ReadOptions = Field(
        default_factory=lambda: ReadOptions.model_validate({}), description="how to read the scene"
    )


class CatalogEntry(BaseModel):
    """A scene, or a glob pattern whose every match is a scene, with its own options."""

    model_config = ConfigDict(extra="forbid")

    scene: str | None = None
    watch: str | None = None
    name: str | None = Field(None, description="output sub-folder (default: the scene's name)")
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    read: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> CatalogEntry:
        if (self.scene is None) == (self.watch is None):
            raise ValueError("give exactly one of 'scene' or 'watch'")
        if self.watch is not None and self.name is not None:
            raise ValueError("'name' applies to one scene, not to a 'watch' pattern")
        return self


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out_dir: str = "outputs"
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    read: dict[str, Any] = Field(default_factory=dict)
    scenes: list[CatalogEntry]


def load_catalog(path: str | Path, overrides: dict[str, Any] | None = None) -> list[SceneRequest]:
    """The scenes a catalogue names, paths resolved against the catalogue's folder;
    ``overrides`` (Options fields) win over the catalogue's options (e.g. ``device: cuda``)."""
    path = Path(path)
    remedy = "see tiles/README.md for the catalogue format"
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError("catalogue not found", path, "check the path") from None
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read the catalogue ({first})", path, remedy) from exc
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"invalid catalogue ({_first_error(exc)})", path, remedy) from None
    base = path.resolve().parent
    requests: list[SceneRequest] = []
    for k, entry in enumerate(catalog.scenes):
        where = f"{path}: scenes[{k}]"
        try:
            merged = {**catalog.options, **entry.options, **(overrides or {})}
            options = Options.from_mapping(merged)
            read = ReadOptions.model_validate({**catalog.read, **entry.read})
        except ValidationError as exc:
            raise InputError(f"invalid options ({_first_error(exc)})", where, remedy) from None
        except OptionError as exc:
            raise InputError(f"invalid options ({exc.what})", where, exc.remedy) from None
        rasters = {k: str(base / v) for k in ("mask", "keep", "aoi") if (v := getattr(read, k))}
        read = read.model_copy(update=rasters)
        model = entry.model or catalog.model
        model = str(base / model) if model else None
        if entry.scene is not None:
            scenes = [(base / entry.scene, entry.name)]
        else:
            assert entry.watch is not None
            scenes = [(Path(p), None) for p in sorted(glob.glob(str(base / entry.watch)))]
        for scene, name in scenes:
            requests.append(
                SceneRequest(
                    scene=str(scene),
                    out_dir=str(base / catalog.out_dir / (name or named_folder(scene).stem)),
                    model=model,
                    options=options,
                    read=read,
                )
            )
    seen: dict[str, str] = {}
    for req in requests:
        if req.out_dir in seen:
            raise InputError(
                f"two scenes write into {req.out_dir} ({seen[req.out_dir]}, {req.scene})",
                path,
                "give one of them a distinct 'name'",
            )
        seen[req.out_dir] = req.scene
    return requests


def is_done(request: SceneRequest) -> bool:
    """Whether ``request``'s outputs exist from a run with the same inputs, model and options."""
    return finished(request) is not None


def finished(request: SceneRequest) -> RunSummary | None:
    """The stats JSON of ``request``'s outputs when every one exists from a run with the same
    inputs, model and options (what a rerun may skip), else None."""
    scene = request.read.open(request.scene)
    paths = RunPaths.for_scene(request.out_dir, scene)
    summary = RunSummary.load(paths.stats_json)
    if summary is None:
        return None
    bundle = _bundle(request.model)
    current = (
        summary.same_inputs(source_identity(scene), bundle.sha256)
        and summary.options == result_options(request.options, bundle)
        and all(p.exists() for p in paths.written(request.options.output).values())
    )
    return summary if current else None


def _bundle(model: str | None) -> Bundle:
    """The bundle, loaded once per catalogue run rather than once per scene (reloaded when its
    weights file changes)."""
    root = Path(model) if model else DEFAULT_BUNDLE
    if root.is_file():  # bundle.json or the weights file: load_bundle takes their folder
        root = root.parent
    try:
        stat = (root / WEIGHTS_FILE).stat()
    except OSError:
        return load_bundle(model)  # it reports what is missing
    return _cached_bundle(str(root.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _cached_bundle(root: str, mtime_ns: int, size: int) -> Bundle:
    return load_bundle(root)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]


__all__ = ["Catalog", "CatalogEntry", "SceneRequest", "finished", "is_done", "load_catalog"]
