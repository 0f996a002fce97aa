"""Travel counts by country: UN Tourism (UNWTO) arrivals by mode and departures, ``tourism.csv``.

The 2022 edition of the UNWTO "all data" download holds, per country and year (1995-2022),
inbound arrivals of non-resident visitors (total, overnight, same-day), arrivals by mode of
transport (air, water, land) and outbound departures of residents. Values are thousands of
visits; a visit is counted once per trip, so one person on three trips counts three times.
Each country block starts with a row ``[M49 code, 0, formula, NAME]``; its indicator rows are
keyed by the code in the second column. Countries are joined by their M49 numeric code,
which is the ISO 3166-1 numeric code except for the old codes UNWTO keeps
(:data:`M49_ISO3`).

References
----------
UN Tourism (2022). Key tourism statistics, all data download (1995-2022).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

YEARS = range(2010, 2023)
"""Years written to ``tourism.csv`` (the reference year of a run is one of them)."""
INDICATORS = {
    ("Inbound Tourism-Arrivals", "1.1"): "arrivals_total",
    ("Inbound Tourism-Arrivals", "1.2"): "arrivals_overnight",
    ("Inbound Tourism-Arrivals", "1.3"): "arrivals_same_day",
    ("Inbound Tourism-Transport", "1.19"): "arrivals_by_mode",
    ("Inbound Tourism-Transport", "1.20"): "arrivals_air",
    ("Inbound Tourism-Transport", "1.21"): "arrivals_water",
    ("Inbound Tourism-Transport", "1.22"): "arrivals_land",
    ("Outbound Tourism-Departures", "3.1"): "departures_total",
    ("Outbound Tourism-Departures", "3.2"): "departures_overnight",
}
"""(sheet, UNWTO code) -> column of ``tourism.csv``; the values there are persons per year."""
M49_ISO3 = {230: "ETH", 280: "DEU", 736: "SDN", 886: "YEM", 158: "TWN", 254: "GUF",
            312: "GLP", 474: "MTQ", 535: "BES", 638: "REU", 663: "SXM", 850: "VIR",
            438: "LIE"}
"""Codes of the UNWTO file that are not ISO 3166-1 numeric codes of today (Ethiopia, Germany,
Sudan and Yemen keep codes retired in the 1990s; territories the WHO table lacks)."""


def read_unwto(path: Path) -> pd.DataFrame:
    """The UNWTO workbook as a long table: ``m49, name, column, year, value, series``.

    ``value`` is in persons per year (the workbook's thousands times 1,000); ``series`` is
    ``VF`` (all visitors), ``TF`` (overnight visitors only) or empty, as the workbook marks
    the country's series.
    """
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = []
    for sheet in sorted({s for s, _ in INDICATORS}):
        rows += _sheet_rows(book[sheet], sheet)
    return pd.DataFrame(rows, columns=["m49", "name", "column", "year", "value", "series"])


def _sheet_rows(ws, sheet: str) -> list[tuple]:
    lines = list(ws.iter_rows(values_only=True))
    years = {i: y for i, y in enumerate(lines[2]) if isinstance(y, int) and y in YEARS}
    out, code, name = [], None, None
    for line in lines[3:]:
        if line[0] is not None and line[1] == 0:
            code, name = int(line[0]), line[3]
            continue
        column = INDICATORS.get((sheet, str(line[1])))
        if column is None or code is None:
            continue
        series = line[10] if len(line) > 10 and isinstance(line[10], str) else ""
        for i, year in years.items():
            if isinstance(line[i], (int, float)):
                out.append((code, name, column, year, float(line[i]) * 1000.0, series))
    return out


def build_tourism(unwto: pd.DataFrame, who: pd.DataFrame) -> pd.DataFrame:
    """``tourism.csv``: one row per country and year with every indicator as a column.

    Parameters
    ----------
    unwto : DataFrame
        :func:`read_unwto`.
    who : DataFrame
        WHO TB burden table (``iso_numeric``, ``iso3``): the numeric code -> ISO3 join.

    Returns
    -------
    DataFrame
        ``iso3, year, series`` and the columns of :data:`INDICATORS` (persons per year;
        empty where the country did not report), rows with at least one value.
    """
    iso3 = dict(zip(who["iso_numeric"].astype(int), who["iso3"])) | M49_ISO3
    table = unwto.assign(iso3=unwto["m49"].map(iso3)).dropna(subset=["iso3"])
    wide = table.pivot_table(index=["iso3", "year"], columns="column", values="value",
                             aggfunc="first")
    series = table[table["series"] != ""].groupby("iso3")["series"].first()
    wide = wide.reindex(columns=list(INDICATORS.values())).reset_index()
    wide.insert(2, "series", wide["iso3"].map(series).fillna(""))
    for column in INDICATORS.values():
        wide[column] = np.round(wide[column]).astype("Int64")
    return wide.sort_values(["iso3", "year"], ignore_index=True)
