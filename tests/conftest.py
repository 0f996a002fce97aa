"""Shared fixtures: small places tables and configs written to a temporary folder."""

from __future__ import annotations

import textwrap

import pytest


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
