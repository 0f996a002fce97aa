"""Readers of the raw public files in the data folder (``../shared/data``).

Each reader parses one raw file into a DataFrame and changes nothing else: the builders in
:mod:`.places` and :mod:`.layers` derive the embedded files from these tables. CSV files are
read so that Namibia's ISO2 code ``"NA"`` stays text (only empty cells, or the file's own
null marker, are missing).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio

MISSING = "-99"  # Natural Earth's null code


def read_natural_earth(path: Path):
    """Read Natural Earth admin-0 countries and add the place ``id`` and ``iso2``.

    Parameters
    ----------
    path : Path
        The Natural Earth 1:110m admin-0 countries GeoJSON.

    Returns
    -------
    geopandas.GeoDataFrame
        All source attributes plus ``id`` (ISO_A3, else ISO_A3_EH, else ADM0_A3) and
        ``iso2`` (ISO_A2_EH; empty string where Natural Earth has none), sorted by ``id``.
    """
    frame = pyogrio.read_dataframe(path)
    ids = frame["ISO_A3"].where(frame["ISO_A3"] != MISSING, frame["ISO_A3_EH"])
    frame["id"] = ids.where(ids != MISSING, frame["ADM0_A3"])
    frame["iso2"] = frame["ISO_A2_EH"].where(frame["ISO_A2_EH"] != MISSING, "")
    return frame.sort_values("id").reset_index(drop=True)


def read_airports(path: Path) -> pd.DataFrame:
    """Parse OpenFlights ``airports.dat`` (no header, ``\\N`` for null)."""
    names = ["id", "name", "city", "country", "iata", "icao", "lat", "lon", "altitude_ft",
             "utc_offset", "dst", "tz", "type", "source"]
    return pd.read_csv(path, header=None, names=names, keep_default_na=False,
                       na_values=["\\N", ""], dtype={"iata": str, "icao": str})


def read_routes(path: Path) -> pd.DataFrame:
    """Parse OpenFlights ``routes.dat``; airport ids are nullable integers."""
    names = ["airline", "airline_id", "src", "src_id", "dst", "dst_id", "codeshare",
             "stops", "equipment"]
    routes = pd.read_csv(path, header=None, names=names, keep_default_na=False,
                         na_values=["\\N", ""], dtype={"airline": str, "src": str, "dst": str})
    for column in ("airline_id", "src_id", "dst_id"):
        routes[column] = routes[column].astype("Int64")
    return routes


def read_openflights_countries(path: Path) -> pd.DataFrame:
    """Parse OpenFlights ``countries.dat``: name, FIPS/DAFIF code, ISO2, flag.

    The third column is the ISO 3166-1 alpha-2 code (``Australia,AS,AU``), the second the
    FIPS/DAFIF code; the upstream description names them the other way round.
    """
    return pd.read_csv(path, header=None, names=["name", "dafif", "iso2", "flag"],
                       keep_default_na=False, na_values=["\\N", ""])


def read_worldbank(path: Path, preamble: int = 4) -> pd.DataFrame:
    """Read a World Bank WDI CSV as a wide table: index ISO3, one column per year (int).

    ``preamble``: lines before the header (4 in a WDI download, 0 in the ``hiv_wdi`` copies,
    which also start with a byte-order mark).
    """
    frame = pd.read_csv(path, skiprows=preamble, keep_default_na=False, na_values=[""],
                        encoding="utf-8-sig")
    years = [c for c in frame.columns if str(c).isdigit()]
    wide = frame.set_index("Country Code")[years].apply(pd.to_numeric, errors="coerce")
    wide.columns = [int(c) for c in years]
    return wide


def read_csv_safe(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV keeping ``"NA"`` as text (only empty cells are null).

    Parameters
    ----------
    path : Path
        The CSV file.
    **kwargs
        Passed to :func:`pandas.read_csv`; ``na_values`` defaults to ``[""]``.
    """
    kwargs.setdefault("na_values", [""])
    return pd.read_csv(path, keep_default_na=False, **kwargs)
