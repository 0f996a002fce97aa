"""The pieces of data-built mobility against hand-computed answers: IPF, one-stop itineraries,
stock-change flows, border rules and the margin imputation."""

import numpy as np
import pandas as pd
import pytest

from healthmob.mobility.borders import border_status
from healthmob.mobility.config import mobility_config
from healthmob.mobility.connections import one_stop_itineraries
from healthmob.mobility.fitting import fit_to_margins
from healthmob.mobility.margins import factor_errors, impute_log_linear, select_year
from healthmob.mobility.migration_flows import stock_flows


def test_ipf_with_uniform_weights_is_the_independence_table():
    """Rows 3, 7 and columns 4, 6 with equal weights: F_ij = r_i c_j / total."""
    o, d = np.repeat([0, 1], 2), np.tile([0, 1], 2)
    flow, report = fit_to_margins(np.zeros(4, int), o, d, np.ones(4), np.array([[4.0, 6.0]]),
                                  np.array([3.0, 7.0]))
    np.testing.assert_allclose(flow, [1.2, 1.8, 2.8, 4.2], rtol=1e-9)
    assert report.converged
    np.testing.assert_allclose(report.destination_ratio, 1.0)


def test_ipf_shares_an_origin_margin_between_modes():
    """One origin, one destination reached by two modes: each mode meets its own arrivals,
    the origin sends their sum."""
    flow, report = fit_to_margins([0, 1], [0, 0], [1, 1], [5.0, 1.0],
                                  np.array([[0.0, 30.0], [0.0, 10.0]]), np.array([40.0, 0.0]))
    np.testing.assert_allclose(flow, [30.0, 10.0])
    assert report.origin_ratio[0] == pytest.approx(1.0)


def test_a_free_origin_takes_the_median_propensity():
    """Origins 0 and 1 are counted (factor 2 and 4 on unit weights before the column step),
    origin 2 is free: its factor is their median, 3."""
    o, d = np.array([0, 1, 2]), np.array([3, 4, 5])
    flow, _ = fit_to_margins(np.zeros(3, int), o, d, np.ones(3),
                             np.full((1, 6), np.nan), np.array([2.0, 4.0, np.nan, 0, 0, 0]))
    np.testing.assert_allclose(flow, [2.0, 4.0, 3.0])


def test_an_unreachable_margin_is_reported_not_hidden():
    flow, report = fit_to_margins([0], [0], [1], [1.0], np.array([[0.0, 5.0, 7.0]]),
                                  np.array([5.0, np.nan, np.nan]))
    assert flow[0] == pytest.approx(5.0)
    assert report.destination_ratio[0, 2] == 0.0


def test_one_stop_connectivity_and_itinerary_time():
    """A -> H (2 routes), H -> B (1), H -> C (3): A reaches B through H with 2 x 1/4."""
    a, h, b, c = range(4)
    it = one_stop_itineraries(4, [a, h, h], [h, b, c], [2.0, 1.0, 3.0], [0.5, 0.25, 0.1],
                              [1000.0, 500.0, 200.0])
    pairs = dict(zip(zip(it.origin, it.destination), range(len(it.origin))))
    k = pairs[(a, b)]
    assert it.direct[k] == 0 and it.connecting[k] == pytest.approx(0.5)
    assert it.time_days[k] == pytest.approx(0.75) and it.distance_km[k] == 1500.0
    assert it.hub[k] == h
    assert it.connectivity(2.0)[pairs[(a, c)]] == pytest.approx(2.0 * 2 * 3 / 4)
    assert it.direct[pairs[(a, h)]] == 2.0 and it.hub[pairs[(a, h)]] == -1


def _stocks(s2015, s2020):
    return pd.DataFrame({"origin": ["AAA"], "destination": ["USA"], "stock_2015": [s2015],
                         "stock_2020": [s2020]})


def test_a_stable_stock_is_replaced_not_grown():
    flows = stock_flows(_stocks(1e6, 1e6), 2019, {"settlement": 0.01}, 0.0076)
    assert flows["inflow_per_year"].item() == pytest.approx(0.0176 * 1e6)
    assert flows["return_per_year"].item() == pytest.approx(0.01 * 1e6)


def test_a_growing_stock_adds_its_growth_and_a_shrinking_one_no_less_than_zero():
    grow = stock_flows(_stocks(1e6, 1.5e6), 2019, {"settlement": 0.01}, 0.0)
    stock = 1e6 + 0.5e6 * 4 / 5
    assert grow["inflow_per_year"].item() == pytest.approx(1e5 + 0.01 * stock)
    fall = stock_flows(_stocks(1e6, 0.5e6), 2019, {"settlement": 0.01}, 0.0)
    assert fall["inflow_per_year"].item() == 0.0


def _land(**columns):
    base = {"origin": "AAA", "destination": "BBB", "distance_km": 100.0, "typology": 3,
            "crossing_infrastructure": 2, "crossing_point": 1, "visa": "free",
            "closed_from": None, "closed_to": None, "closure_source": "",
            "counted_per_year": None, "count_source": ""}
    rows = [{**base, **{k: v[n] for k, v in columns.items()}}
            for n in range(len(next(iter(columns.values()))))]
    table = pd.DataFrame(rows)
    for c in ("typology", "crossing_infrastructure", "crossing_point", "closed_from",
              "closed_to", "counted_per_year"):
        table[c] = table[c].astype("Int64")
    return table


def test_each_border_rule_gives_its_status():
    land = _land(visa=["free", "required", "required", "required", "free", "on_arrival"],
                 typology=[3, 5, 5, 3, 1, 3], crossing_infrastructure=[2, 1, 2, 2, 0, 2],
                 crossing_point=[1, 1, 1, 1, 0, 1],
                 closed_from=[None, None, None, 2017, None, None],
                 closed_to=[None, None, None, 2020, None, None])
    cfg = mobility_config({"layers": ["land"]}).layer("land")
    status = border_status(land, cfg, 2019, (0.4, 0.7))
    assert list(status["status"]) == ["open", "restricted", "open", "closed", "restricted",
                                      "open"]
    assert list(status["permeability"]) == [1.0, 0.0, 0.4, 0.0, 0.0, 0.7]
    assert status["fixed_per_day"].iloc[1] == 10.0
    assert border_status(land, cfg, 2021, (0.4, 0.7))["status"].iloc[3] == "open"


def test_log_linear_imputation_recovers_an_exact_law():
    x = pd.DataFrame({"log_population": np.log([1e6, 2e6, 5e6, 1e7, 3e7, 8e7])})
    values = pd.Series(3.0 * np.exp(x["log_population"]) ** 0.8)
    truth = values.iloc[2]
    values.iloc[2] = np.nan
    filled, left_out = impute_log_linear(values, x)
    assert filled.iloc[2] == pytest.approx(truth, rel=1e-9)
    errors = factor_errors(left_out, values)
    assert errors["n"] == 5 and errors["median_factor"] == pytest.approx(1.0, abs=1e-9)


def test_the_nearest_year_is_taken_and_covid_years_skipped():
    table = pd.DataFrame({"iso3": ["A"] * 3 + ["B"], "year": [2017, 2020, 2021, 2020],
                          "value": [1.0, 2.0, 3.0, 4.0]})
    picked = select_year(table, "value", 2019)
    assert picked.loc["A", "year"] == 2017 and "B" not in picked.index
    assert select_year(table, "value", 2021).loc["A", "year"] == 2021
