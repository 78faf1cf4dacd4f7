"""Installs reproduce: the lock pins every dependency inside pyproject's ranges, and the conda
environment names the same packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
#: conda-forge names that differ from PyPI's
CONDA_NAMES = {"torch": "pytorch", "types-pyyaml": "types-pyyaml"}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("geoseg")]
    return reqs


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_dependency_inside_its_range() -> None:
    pins = _lock()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run scripts/dev.py lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}"
        )


def test_the_conda_environment_names_every_dependency() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    listed = {
        canonicalize_name(Requirement(d).name)
        for d in [*env["dependencies"], *(p for group in pip for p in group)]
        if isinstance(d, str) and not d.startswith("python") and d != "pip"
    }
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert CONDA_NAMES.get(name, name) in listed, f"environment.yml lacks {req.name}"
