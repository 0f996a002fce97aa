"""Shared fixtures: a small places table, configs written to a temporary folder, and a
private calibration cache for every test (nothing is written to the user's cache)."""

from __future__ import annotations

import textwrap

import pytest
from helpers import config_text


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Point ``HEALTHMOB_CACHE_DIR`` at a temporary folder for every test."""
    monkeypatch.setenv("HEALTHMOB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def write_config(tmp_path):
    """Write a TOML config (dedented) into tmp_path and return its path."""

    def write(text: str, name: str = "scenario.toml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def places_csv(tmp_path):
    """Three places with populations, as a CSV file."""
    path = tmp_path / "places.csv"
    path.write_text("id,name,population,lat,lon\nAAA,Aland,1000000,0,0\n"
                    "BBB,Bland,500000,1,1\nCCC,Cland,2000000,2,2\n")
    return path


@pytest.fixture
def small_config(write_config, places_csv):
    """The small SEIR config of :func:`helpers.config_text`, as a file."""
    return write_config(config_text(places_csv))
