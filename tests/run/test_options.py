"""Options: every bad value is an OptionError with one line naming the option, at build time."""

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from geoseg.errors import OptionError
from geoseg.run.options import (
    ComputeOptions,
    Options,
    OptionsField,
    OutputOptions,
    TilingOptions,
)

BAD: list[tuple[type, dict[str, Any], str]] = [
    (TilingOptions, {"tile_size": 100}, "--tile-size 100"),
    (TilingOptions, {"tile_size": 0}, "--tile-size 0"),
    (TilingOptions, {"tile_size": 8192}, "--tile-size 8192"),
    (TilingOptions, {"tile_size": 256, "overlap": 129}, "--overlap 129"),
    (TilingOptions, {"overlap": -1}, "--overlap -1"),
    (TilingOptions, {"chunk_size": 0}, "--chunk-size 0"),
    (TilingOptions, {"batch_size": 0}, "--batch-size 0"),
    (ComputeOptions, {"engine": "spark"}, "unknown engine 'spark'"),
    (ComputeOptions, {"engine": "dask"}, "--dask-address"),
    (ComputeOptions, {"device": "gpu"}, "--device 'gpu'"),
    (ComputeOptions, {"workers": 0}, "--workers 0"),
    (OutputOptions, {"min_area_ha": -1.0}, "--min-area -1.0"),
    (OutputOptions, {"min_area_ha": float("nan")}, "--min-area nan"),
    (OutputOptions, {"simplify_m": float("inf")}, "--simplify inf"),
    (OutputOptions, {"indices": ("NDXX",)}, "NDXX"),
]
GOOD: list[tuple[type, dict[str, Any]]] = [
    (TilingOptions, {"tile_size": 32, "overlap": 16, "chunk_size": 1, "batch_size": 1}),
    (TilingOptions, {"tile_size": 4096, "overlap": 0, "chunk_size": 96}),
    (TilingOptions, {"overlap": 64}),
    (ComputeOptions, {"engine": "dask", "dask_address": "tcp://h:8786", "workers": 2}),
    (ComputeOptions, {"engine": "inprocess", "device": "cuda:1"}),
    (ComputeOptions, {"device": "mps", "gpu_resources": True, "resume": False}),
    (OutputOptions, {"min_area_ha": 0, "simplify_m": 5.0, "indices": ["NDVI", "ndwi"]}),
    (OutputOptions, {"vectorize": False, "confidence": False, "stac": False}),
]


def _one_line(err: pytest.ExceptionInfo[OptionError]) -> str:
    line = str(err.value)
    assert "\n" not in line
    return line


@pytest.mark.parametrize(("group", "values", "named"), BAD)
def test_bad_values_fail_in_their_group_and_flat(
    group: type, values: dict[str, Any], named: str
) -> None:
    with pytest.raises(OptionError) as err:
        group(**values)
    assert named in _one_line(err)
    with pytest.raises(OptionError) as err:
        Options(**values)
    assert named in _one_line(err)
    with pytest.raises(OptionError) as err:
        Options.from_mapping(values)
    assert named in _one_line(err)


@pytest.mark.parametrize(("group", "values"), GOOD)
def test_good_values_are_kept(group: type, values: dict[str, Any]) -> None:
    built = group(**values)
    opts = Options(**values)
    name = {TilingOptions: "tiling", ComputeOptions: "compute", OutputOptions: "output"}[group]
    assert getattr(opts, name) == built
    for key in values:
        assert getattr(opts, key) == getattr(built, key)  # flat reads
    assert Options.from_mapping(values) == opts


def test_flat_and_grouped_construction_agree() -> None:
    flat = Options(tile_size=256, chunk_size=512, device="cpu", min_area_ha=1, indices=("NDVI",))
    grouped = Options(
        tiling=TilingOptions(tile_size=256, chunk_size=512),
        compute=ComputeOptions(device="cpu"),
        output=OutputOptions(min_area_ha=1, indices=("NDVI",)),
    )
    assert flat == grouped
    assert Options.from_mapping(flat.flat()) == flat
    assert Options(tiling=TilingOptions(tile_size=256), tile_size=512).tile_size == 512


def test_dataclasses_replace_keeps_the_other_groups_and_validates() -> None:
    opts = Options(tile_size=256, device="cpu", min_area_ha=1)
    changed = dataclasses.replace(opts, vectorize=False)  # type: ignore[call-arg]  # flat name
    assert (changed.vectorize, changed.tile_size, changed.device) == (False, 256, "cpu")
    assert dataclasses.replace(opts, tiling=TilingOptions()).tile_size is None
    with pytest.raises(OptionError, match="--batch-size"):
        dataclasses.replace(opts, batch_size=0)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tile": 3}, "unknown option(s) tile"),
        ({"min_area_ha": "lots"}, "option min_area_ha 'lots' is not valid"),
        ({"workers": "two"}, "option workers 'two' is not valid"),
        ([1, 2], "options must be a mapping"),
    ],
)
def test_untyped_mappings_fail_with_one_line(values: Any, message: str) -> None:
    with pytest.raises(OptionError) as err:
        Options.from_mapping(values)
    assert message in _one_line(err)


def test_unknown_flat_names_are_refused() -> None:
    with pytest.raises(OptionError, match="unknown option"):
        Options(tiles=3)


class _Request(BaseModel):
    options: OptionsField = Options()


def test_as_a_pydantic_field_flat_in_and_out() -> None:
    req = _Request.model_validate({"options": {"min_area_ha": 0.5, "indices": ["NDVI"]}})
    assert req.options == Options(min_area_ha=0.5, indices=("NDVI",))
    dumped = req.model_dump(mode="json")["options"]
    assert dumped["min_area_ha"] == 0.5 and dumped["indices"] == ["NDVI"]
    assert _Request.model_validate_json(req.model_dump_json()) == req
    schema = _Request.model_json_schema()["properties"]["options"]
    assert {"tile_size", "engine", "min_area_ha"} <= set(schema["properties"])
    with pytest.raises(ValidationError, match="unknown option"):
        _Request.model_validate({"options": {"tile": 3}})
    with pytest.raises(ValidationError, match="unknown spectral index 'NDXI'"):
        _Request.model_validate({"options": {"indices": ["NDXI"]}})
