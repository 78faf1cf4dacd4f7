"""Sentinel-2 products built once per session from the Norcia crop (see tests/io/products.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.io.products import make_safe, make_stac_item, zip_safe


@pytest.fixture(scope="session")
def l2a_safe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_safe(tmp_path_factory.mktemp("l2a"), "L2A", "05.09")


@pytest.fixture(scope="session")
def l1c_safe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_safe(tmp_path_factory.mktemp("l1c"), "L1C", "02.06")


@pytest.fixture(scope="session")
def l2a_zip(tmp_path_factory: pytest.TempPathFactory, l2a_safe: Path) -> Path:
    return zip_safe(l2a_safe, tmp_path_factory.mktemp("zip") / f"{l2a_safe.name}.zip")


@pytest.fixture(scope="session")
def stac_es(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_stac_item(tmp_path_factory.mktemp("stac-es"), "earth-search")


@pytest.fixture(scope="session")
def stac_pc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_stac_item(tmp_path_factory.mktemp("stac-pc"), "planetary-computer")
