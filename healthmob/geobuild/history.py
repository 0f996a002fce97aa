"""``history.csv``: each place's observed TB and HIV burden year by year, 2000-2023.

The series the history start (:mod:`healthmob.history`) follows: WHO TB burden estimates
(2025 release: incidence with its uncertainty interval, case detection ratio, notifications,
TB-HIV share, deaths among HIV-negative and HIV-positive people), World Bank / UNAIDS HIV
prevalence (ages 15-49), ART coverage (percent of people living with HIV) and new HIV
infections (ages 15-49, persons), and World Bank population. Missing stays empty: the run
interpolates inside a place's series and holds its first and last values
(:func:`healthmob.history.table.yearly_targets`).
"""

from __future__ import annotations

import pandas as pd

FIRST_YEAR, LAST_YEAR = 2000, 2023

#: history.csv column -> WHO burden field
WHO_FIELDS = {
    "tb_incidence_per_100k": "e_inc_100k",
    "tb_incidence_per_100k_lo": "e_inc_100k_lo",
    "tb_incidence_per_100k_hi": "e_inc_100k_hi",
    "tb_case_detection_percent": "c_cdr",
    "tb_notified_per_100k": "c_newinc_100k",
    "tb_hiv_percent": "e_tbhiv_prct",
    "tb_deaths_hiv_negative_per_100k": "e_mort_exc_tbhiv_100k",
    "tb_deaths_hiv_positive_per_100k": "e_mort_tbhiv_100k",
}


def build_history(ids: pd.Series, who: pd.DataFrame, wb_pop: pd.DataFrame,
                  wb_hiv: pd.DataFrame, wb_art: pd.DataFrame,
                  wb_new_hiv: pd.DataFrame) -> pd.DataFrame:
    """One row per place and year from 2000 to 2023.

    Parameters
    ----------
    ids : Series of str
        Place ids (ISO3), as ``places.csv``.
    who : DataFrame
        WHO TB burden estimates, one row per country and year (2025 release).
    wb_pop, wb_hiv, wb_art, wb_new_hiv : DataFrame
        World Bank wide tables (:func:`.readers.read_worldbank`): population, HIV
        prevalence 15-49 (%), ART coverage (% of people living with HIV), adults 15-49
        newly infected with HIV (persons).

    Returns
    -------
    DataFrame
        Columns ``id, year, population`` (World Bank, else WHO ``e_pop_num``), the
        :data:`WHO_FIELDS` columns, ``hiv_prevalence_percent``, ``art_coverage_percent``,
        ``hiv_new_infections_15_49``; sorted by id and year.
    """
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    frame = pd.MultiIndex.from_product([sorted(ids), years], names=["id", "year"]).to_frame(
        index=False)
    key = pd.MultiIndex.from_frame(frame)
    tb = who.set_index(["iso3", "year"])
    population = _long(wb_pop).reindex(key)
    frame["population"] = population.fillna(tb["e_pop_num"].reindex(key)).round().astype(
        "Int64").to_numpy()
    for column, field in WHO_FIELDS.items():
        frame[column] = tb[field].reindex(key).to_numpy()
    for column, wide in (("hiv_prevalence_percent", wb_hiv), ("art_coverage_percent", wb_art),
                         ("hiv_new_infections_15_49", wb_new_hiv)):
        frame[column] = _long(wide).reindex(key).to_numpy()
    frame["hiv_new_infections_15_49"] = frame["hiv_new_infections_15_49"].round().astype(
        "Int64")
    return frame


def _long(wide: pd.DataFrame) -> pd.Series:
    """A World Bank wide table as a Series indexed by (iso3, year)."""
    long = wide.stack()
    long.index = long.index.set_names(["iso3", "year"])
    return long
