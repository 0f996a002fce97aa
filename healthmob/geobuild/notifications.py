"""Observed TB notifications in the surveillance schema (``docs/surveillance.md``).

``notifications_who.csv``: WHO notifications 2000-2023 (the 2025-05-21 export) for the
places of ``places.csv``: ``c_newinc`` (new and relapse cases, everyone) and
``notif_foreign`` (new and re-treatment cases among the foreign-born), two series per place
where reported. ``notifications_england_wales.csv``: England and Wales 1913-2016 (Public
Health England): respiratory plus non-respiratory to 1981, pulmonary plus extra-pulmonary
after; reporting place ``GBR`` although the series covers England and Wales only (about
89% of the UK's population, ONS mid-year estimates 2011), so the model's counts of the UK
are higher by about that share.
"""

from __future__ import annotations

import pandas as pd

FIRST_YEAR, LAST_YEAR = 2000, 2023
COLUMNS = ["reporting_place", "period", "disease", "count", "country_of_birth"]


def build_who_notifications(notifications: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """Long table of ``c_newinc`` (everyone) and ``notif_foreign`` (foreign-born)."""
    years = pd.to_numeric(notifications["year"], errors="coerce")
    table = notifications[years.between(FIRST_YEAR, LAST_YEAR)
                          & notifications["iso3"].isin(set(ids))]
    parts = []
    for column, birthplace in (("c_newinc", ""), ("notif_foreign", "foreign")):
        counts = pd.to_numeric(table[column], errors="coerce")
        rows = table[counts.notna() & (counts >= 0)]
        parts.append(pd.DataFrame({
            "reporting_place": rows["iso3"], "period": years[rows.index].astype(int),
            "disease": "tb", "count": counts[rows.index].astype(int),
            "country_of_birth": birthplace}))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["reporting_place", "country_of_birth", "period"],
                           ignore_index=True)[COLUMNS]


def build_england_wales(series: pd.DataFrame) -> pd.DataFrame:
    """Long table of the yearly England and Wales notifications (all forms)."""
    values = series.apply(pd.to_numeric, errors="coerce")
    early = values["respiratory"] + values["non_respiratory"]
    late = values["pulmonary"] + values["extra_pulmonary"]
    counts = early.fillna(late)
    keep = counts.notna()
    return pd.DataFrame({
        "reporting_place": "GBR", "period": values["year"][keep].astype(int), "disease": "tb",
        "count": counts[keep].astype(int), "country_of_birth": ""})[COLUMNS]
