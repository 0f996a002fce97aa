"""The model's expected count for each observed series, read from a run's ``results.nc``.

A series is one reporting place, disease and stratum over the years. The model counts TB
notifications (``tb_notifications``: active cases starting treatment, WHO's ``c_newinc``
plus re-treatment after failure), yearly, everyone or by birthplace: native, foreign-born
(``notif_foreign``), foreign-born by years since entry, or born in one country when the run
keeps that country as an origin group of the place. Yearly sums come from the birthplace
account (``period`` variables of its whole years), which a run without one does not have.
A row's ``population``, when given, rescales the model's rate of that stratum to it (a
notification system that covers part of a place).
Anything else cannot be produced and is refused (:func:`match_series`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError
from .observed import STRATA
from .rows import COUNTED, check_places_and_years, check_strata


@dataclass(frozen=True)
class Series:
    """One observed series and the model's expectation of it, over ``years``.

    ``observed`` is NaN where not reported; ``expected`` is the model's count;
    ``relative_sd`` is the relative uncertainty of ``expected`` from the WHO incidence
    bounds (log scale: ``log(hi / lo) / 3.92``) of the place, of the origins of its
    foreign-born, or of the country of birth.
    """

    place: str
    disease: str
    stratum: dict
    years: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    relative_sd: np.ndarray

    @property
    def label(self) -> str:
        parts = [f"{k}={v}" for k, v in self.stratum.items() if v]
        return " ".join([self.place, self.disease, *parts])


def period_years(results: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the birthplace account's whole-year periods (at least 365 days) and the
    calendar year of each (the year of its midpoint)."""
    start = pd.to_datetime(results["period"].values)
    end = pd.to_datetime(results["period_end"].values)
    whole = np.flatnonzero(np.asarray((end - start).days) >= 365)
    return whole, np.asarray((start + (end - start) / 2).year)[whole]


class ModelCounts:
    """The run's yearly counts that observed series can be matched to."""

    def __init__(self, results: xr.Dataset, path: Path):
        self.results, self.path = results, path
        self.places = [str(p) for p in results["place"].values]
        if f"{COUNTED['tb']}_native" not in results:
            raise DataError(f"{path}: the run has no yearly TB notifications by birthplace "
                            "(a deterministic TB run with the migration layer and its "
                            "[birthplace] account is needed)")
        self._whole, self.years = period_years(results)
        self.bands = [str(b) for b in results["entry_band"].values]
        self.origin_labels = results["origin_group_name"].to_numpy().astype(str)
        self._by_origin = results[f"{COUNTED['tb']}_foreign_born_by_origin"].to_numpy()[
            self._whole]
        self._origin_people = results["foreign_born_population_by_origin"].to_numpy()[
            self._whole]

    def counts(self, disease: str, place: int, birthplace: str, band: str) -> np.ndarray:
        """The model's yearly count of a stratum that :func:`check_strata` accepts."""
        name = COUNTED[disease]
        r = self.results
        native = r[f"{name}_native"].isel(place=place, period=self._whole).to_numpy()
        foreign = r[f"{name}_foreign_born"].isel(place=place, period=self._whole)
        foreign = (foreign.isel(entry_band=self.bands.index(band)) if band
                   else foreign.sum("entry_band")).to_numpy()
        if birthplace == "":
            return native + foreign
        if birthplace == "native":
            return native
        if birthplace == "foreign":
            return foreign
        return self._by_origin[:, place, list(self.origin_labels[place]).index(birthplace)]

    def origin_counts(self, place: int, group: int) -> np.ndarray:
        """The yearly foreign-born notifications of one origin group of a place."""
        return self._by_origin[:, place, group]

    def population(self, place: int, birthplace: str) -> np.ndarray:
        """The model's population of a stratum at the start of each year."""
        r = self.results
        native = r["native_population"].isel(place=place, period=self._whole).to_numpy()
        foreign = r["foreign_born_population"].isel(place=place, period=self._whole).sum(
            "entry_band").to_numpy()
        if birthplace in ("", "native", "foreign"):
            return {"": native + foreign, "native": native, "foreign": foreign}[birthplace]
        group = list(self.origin_labels[place]).index(birthplace)
        return self._origin_people[:, place, group]

    def origin_shares(self, place: int) -> tuple[list[str], np.ndarray]:
        """The origin countries kept for a place and their share of its foreign-born
        notifications each year (year, origin); regions are left out."""
        names = self.origin_labels[place]
        countries = [k for k, n in enumerate(names) if len(n) == 3 and n.isalpha()]
        counts = self._by_origin[:, place, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = counts[:, countries] / counts.sum(axis=1, keepdims=True)
        return [str(names[k]) for k in countries], np.nan_to_num(shares)


def bounds_sd(bounds: pd.DataFrame, years: np.ndarray) -> pd.DataFrame:
    """Relative sd (log scale) of WHO incidence, (year x place); the median where none."""
    sd = np.log(bounds["tb_incidence_per_100k_hi"] / bounds["tb_incidence_per_100k_lo"]
                ) / 3.92
    table = bounds.assign(sd=sd.where(np.isfinite(sd)))
    wide = table.pivot(index="year", columns="id", values="sd").reindex(years)
    return wide.fillna(float(table["sd"].median()))


def match_series(observed: pd.DataFrame, path: Path, model: ModelCounts,
                 bounds: pd.DataFrame) -> list[Series]:
    """Group the observed rows into series and attach the model's expectation, over the
    run's years from the first to the last year observed.

    Raises DataError (naming the file and row) for a place the run does not have, a period
    that is not a whole year inside the run, or a stratum the model cannot produce.
    """
    places = {p: i for i, p in enumerate(model.places)}
    years = model.years
    sd_table = bounds_sd(bounds, years)
    if len(years) == 0:
        raise DataError(f"{model.path}: the run has no whole year to compare with")
    check_places_and_years(observed, path, set(places), years)
    check_strata(observed, path, model.places, model.bands, model.origin_labels)
    span = (years >= observed["year"].min()) & (years <= observed["year"].max())
    median = float(np.median(sd_table.to_numpy()))
    series = []
    key = ["reporting_place", "disease", *STRATA]
    for values, group in observed.groupby(key, sort=True):
        stratum = dict(zip(STRATA, values[2:]))
        place, disease = values[0], values[1]
        p = places[place]
        expected = model.counts(disease, p, stratum["country_of_birth"],
                                stratum["years_since_entry"])
        observed_counts = np.full(len(years), np.nan)
        k = np.searchsorted(years, group["year"].to_numpy())
        observed_counts[k] = group["count"].to_numpy()
        people = model.population(p, "")
        beyond = np.flatnonzero(observed_counts[k] > people[k])
        if len(beyond):
            row = int(group["row"].iloc[beyond[0]])
            raise DataError(f"{path}: row {row}: count {observed_counts[k][beyond[0]]:.0f}"
                            f" is more than the {people[k][beyond[0]]:,.0f} people of "
                            f"{place} in the run")
        expected = np.asarray(expected, dtype=float)
        if group["population"].notna().any():
            rows = group.set_index("year")["population"].reindex(years)
            people = model.population(p, stratum["country_of_birth"])
            expected = np.where(rows.notna(), expected * rows.to_numpy() / people, expected)
        birthplace = stratum["country_of_birth"]
        own = birthplace if birthplace not in ("", "native", "foreign") else place
        sd = (sd_table[own].to_numpy() if own in sd_table.columns
              else np.full(len(years), median))
        if birthplace == "foreign":
            sd = _origins_sd(model, sd_table, p, sd)
        series.append(Series(place=place, disease=disease, stratum=stratum,
                             years=years[span], observed=observed_counts[span],
                             expected=expected[span], relative_sd=sd[span]))
    return series


def _origins_sd(model: ModelCounts, sd_table: pd.DataFrame, place: int,
                fallback: np.ndarray) -> np.ndarray:
    """Relative sd of the foreign-born expectation each year: the origin countries' WHO
    bounds weighted by their share of the cases; the place's own where no origin is kept."""
    names, shares = model.origin_shares(place)
    known = [k for k, n in enumerate(names) if n in sd_table.columns]
    if not known:
        return fallback
    weights = shares[:, known]
    sds = sd_table[[names[k] for k in known]].to_numpy()
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.sum(sds * weights, axis=1) / total
    return np.where(total > 0, weighted, fallback)
