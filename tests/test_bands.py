import pytest

from geoseg.bands import band_in_filename, canonical


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("B2", "B02"),
        ("b02", "B02"),
        ("blue", "B02"),
        ("NIR", "B08"),
        ("nir08", "B8A"),
        ("B8a", "B8A"),
        ("swir16", "B11"),
        ("SWIR2", "B12"),
        ("B12", "B12"),
        ("coastal", "B01"),
    ],
)
def test_aliases_resolve_to_canonical_names(alias: str, name: str) -> None:
    assert canonical(alias) == name


@pytest.mark.parametrize("alias", ["B13", "B0", "label", "", "nir3"])
def test_unknown_names_are_none(alias: str) -> None:
    assert canonical(alias) is None


@pytest.mark.parametrize(
    ("stem", "name"),
    [
        ("T32TQM_20200601T101031_B04_10m", "B04"),
        ("S2A_MSIL2A_B8A", "B8A"),
        ("B11", "B11"),
        ("B10m", None),
        ("B20m", None),
        ("label", None),
        ("B02_B03", None),
    ],
)
def test_band_in_filename(stem: str, name: str | None) -> None:
    assert band_in_filename(stem) == name
