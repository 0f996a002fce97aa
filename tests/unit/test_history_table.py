"""The observed series of a history start: interpolation, held ends, region shapes."""

import numpy as np
import pandas as pd

from healthmob.history.table import yearly_targets

PLACES = pd.DataFrame({"id": ["A", "B", "C", "D"], "subregion": ["r", "r", "r", "s"]})
YEARS = np.arange(2000, 2005)


def table(rows):
    return pd.DataFrame(rows, columns=["id", "year", "value"])


def test_inside_gaps_are_interpolated_and_the_last_value_held():
    rows = [("A", 2000, 10.0), ("A", 2002, 20.0), ("A", 2003, 25.0),
            ("B", 2000, 1.0), ("C", 2000, 1.0), ("D", 2000, 5.0)]
    values, missing = yearly_targets(table(rows), PLACES, "value", YEARS, "subregion")
    assert np.allclose(values[:, 0], [10, 15, 20, 25, 25])
    assert not missing.any()


def test_years_before_a_late_first_value_follow_the_regions_shape():
    """B's only value is 40 in 2004; its region's median rises 0, 10, 20, 30, 40 (A and C),
    so B's earlier years are that shape scaled to meet 40: 0, 10, 20, 30."""
    rows = [("A", y, 10.0 * i) for i, y in enumerate(YEARS)] + [
        ("C", y, 10.0 * i) for i, y in enumerate(YEARS)] + [("B", 2004, 40.0), ("D", 2000, 1)]
    values, _ = yearly_targets(table(rows), PLACES, "value", YEARS, "subregion")
    assert np.allclose(values[:, 1], [0, 10, 20, 30, 40])


def test_a_place_without_data_takes_its_regions_median_each_year():
    rows = [("A", y, 1.0 + i) for i, y in enumerate(YEARS)] + [
        ("B", y, 3.0 + i) for i, y in enumerate(YEARS)] + [
        ("D", y, 100.0) for y in YEARS]
    values, missing = yearly_targets(table(rows), PLACES, "value", YEARS, "subregion")
    assert missing.tolist() == [False, False, True, False]
    assert np.allclose(values[:, 2], 2.0 + np.arange(5))


def test_projection_holds_the_last_value_or_continues_the_trend():
    from healthmob.calibration.config import HistoryStart
    from healthmob.calibration.fit import Calibrator, Target
    from healthmob.disease.parse import load_model
    from healthmob.history.fit import HistoryFit
    from healthmob.history.start import projected

    spec = load_model("tb")
    targets = [Target(observable="tb_incidence", parameter="beta", column="c")]
    calibrator = Calibrator(spec, {}, targets, 1)
    fitted = 0.01 * 0.9 ** np.arange(8)[:, None]  # falling 10% a year
    fit = HistoryFit(np.arange(2016, 2024), {"beta": fitted}, np.zeros((8, 1, 1)),
                     np.zeros((8, 1, 1)), np.zeros((8, 1), dtype=bool), np.zeros((8, 1)))
    hold = projected(fit, 10, HistoryStart(targets=tuple(targets)), calibrator, targets)
    assert np.array_equal(hold["beta"][:8], fitted) and np.all(hold["beta"][8:] == fitted[-1])
    trend = projected(fit, 10, HistoryStart(targets=tuple(targets), projection="trend"),
                      calibrator, targets)
    assert np.allclose(trend["beta"][8:, 0], fitted[-1, 0] * 0.9 ** np.array([1, 2]))


def test_births_beyond_deaths_are_the_observed_growth_less_net_migration():
    from healthmob.history.fit import GROWTH_LIMITS, growth_rates
    from healthmob.units import DAYS_PER_YEAR

    start, end = np.array([100.0, 100.0, 100.0, np.nan]), np.array([102.0, 100.0, 50.0, 1.0])
    migration = np.array([0.01, 0.0, 0.0, 0.0]) / DAYS_PER_YEAR
    rate = growth_rates(start, end, migration) * DAYS_PER_YEAR
    assert np.isclose(rate[0], np.log(1.02) - 0.01)   # growth less immigration
    assert rate[1] == 0.0
    assert rate[2] == GROWTH_LIMITS[0]                 # a halving is beyond what births do
    assert rate[3] == 0.0                              # unknown population: no growth
