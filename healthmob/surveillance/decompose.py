"""Why did foreign-born TB change? The observed change between two years, split into
migration volume, the rate per migrant the model explains, and the rest.

For a place and two years ``a`` and ``b``: observed foreign-born notifications ``y``, the
model's foreign-born population ``P`` (UN DESA stocks carried by the birthplace account) and
its expected foreign-born notifications ``E``. With the observed rate per migrant
``R = y / P`` the change splits exactly (Kitagawa 1955, the symmetric two-factor form)::

    y_b - y_a = (P_b - P_a) (R_a + R_b) / 2      migration volume
              + (R_b - R_a) (P_a + P_b) / 2      rate per migrant

and the rate part splits again, in proportion to the change of the logarithms, into the
model's rate per migrant ``m = E / P`` (origin burden and years since entry: who the
migrants are and how long they have been there) and the ratio ``R / m`` the model does not
explain (screening, diagnosis and everything else). Screening policies do not change the
model's dynamics (the risk stage counts who would be found), so no screening part is
separated. Intervals: 95% percentiles over 2,000 Poisson draws of the two observed counts
(their sampling variability; the model's own uncertainty is not in them).

Reference: Thomas HL, Harris RJ, Muzyamba MC, et al. (2018). Reduction in tuberculosis
incidence in the UK from 2011 to 2015: a population-based study. Thorax 73:769-775.
Kitagawa EM (1955). Components of a difference between two rates. J Am Stat Assoc
50:1168-1194.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError
from .expected import ModelCounts

DRAWS = 2000
_SPEC = re.compile(r"^([A-Za-z0-9_\-]+):(\d{4}):(\d{4})$")


def parse_request(text: str) -> tuple[str, int, int]:
    """``"GBR:2011:2015"`` -> ("GBR", 2011, 2015); DataError otherwise."""
    found = _SPEC.match(text.strip())
    if not found or int(found[2]) >= int(found[3]):
        raise DataError(f"--decompose {text!r}: expected PLACE:FIRST_YEAR:LAST_YEAR with the "
                        "first year before the last, e.g. GBR:2011:2015")
    return found[1], int(found[2]), int(found[3])


def _components(y: np.ndarray, people: np.ndarray, model_rate: np.ndarray) -> np.ndarray:
    """(volume, rate explained by the model, rate not explained) for observed counts
    ``y`` (..., 2)."""
    rate = y / people
    volume = (people[1] - people[0]) * (rate[..., 0] + rate[..., 1]) / 2
    by_rate = (rate[..., 1] - rate[..., 0]) * (people[0] + people[1]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rate = np.log(rate[..., 1] / rate[..., 0])
        share = np.where(np.abs(log_rate) > 1e-12,
                         np.log(model_rate[1] / model_rate[0]) / log_rate, 0.5)
    return np.stack([volume, by_rate * share, by_rate * (1 - share)], axis=-1)


def decompose(surveillance: xr.Dataset, model: ModelCounts, place: str, first: int,
              last: int, seed: int = 0) -> pd.DataFrame:
    """The decomposition table (module docstring) of ``place`` between ``first`` and
    ``last``; DataError when the place has no foreign-born series with both years."""
    rows = np.flatnonzero((surveillance["reporting_place"].to_numpy() == place)
                          & (surveillance["country_of_birth"].to_numpy() == "foreign")
                          & (surveillance["years_since_entry"].to_numpy() == ""))
    years = list(surveillance["year"].to_numpy())
    if not len(rows) or first not in years or last not in years:
        raise DataError(f"--decompose {place}:{first}:{last}: needs an observed foreign-born "
                        f"series of {place} with both years (country_of_birth = foreign)")
    series = surveillance.isel(series=int(rows[0]))
    pick = [years.index(first), years.index(last)]
    y = series["observed"].to_numpy()[pick]
    expected = series["expected"].to_numpy()[pick]
    if not (np.all(np.isfinite(y)) and np.all(y > 0) and np.all(expected > 0)):
        raise DataError(f"--decompose {place}:{first}:{last}: observed and expected "
                        f"foreign-born counts must be > 0 in both years; got {y} and "
                        f"{np.round(expected, 1)}")
    k = [int(np.flatnonzero(model.years == year)[0]) for year in (first, last)]
    people = model.population(model.places.index(place), "foreign")[k]
    rng = np.random.default_rng(seed)
    draws = np.maximum(rng.poisson(y, (DRAWS, 2)).astype(float), 1.0)
    model_rate = expected / people
    point = _components(y, people, model_rate)
    spread = _components(draws, people, model_rate)
    lo, hi = np.percentile(spread, [2.5, 97.5], axis=0)
    names = ["migration volume (foreign-born population)",
             "rate per migrant explained by the model (origin burden, years since entry)",
             "rate per migrant not explained by the model (screening, diagnosis, other)"]
    table = pd.DataFrame({"component": names, "cases": point, "lower_95": lo,
                          "upper_95": hi})
    total = pd.DataFrame({"component": ["observed change"], "cases": [y[1] - y[0]],
                          "lower_95": [np.percentile(draws[:, 1] - draws[:, 0], 2.5)],
                          "upper_95": [np.percentile(draws[:, 1] - draws[:, 0], 97.5)]})
    out = pd.concat([total, table], ignore_index=True)
    out.attrs.update(place=place, first=first, last=last, observed=y.tolist(),
                     foreign_born=people.tolist(), expected=expected.tolist())
    return out
