"""Bad history input: one line naming the file, key or row, exit 2, nothing written."""

import pytest
from helpers import assert_refused, healthmob

HISTORY = """name = "h"
model = "tb"
[places]
source = "world"
ids = ["GBR", "IND"]
[time]
start = {start}
duration = "3 years"
step = "1 month"
[initial]
method = "history"
{extra}
"""

GOOD_ROWS = "id,year,tb_incidence_per_100k\nGBR,2000,12\nGBR,2001,11\nIND,2000,322\n"

CASES = {
    "start after the first observation": (
        "2005-01-01", "", None,
        "time.start: the history start must be in or before the first year of"),
    "projection not declared": (
        "2000-01-01", 'projection = "extrapolate"', None,
        "initial.projection must be one of ['hold', 'trend']; got 'extrapolate'"),
    "negative observed value": (
        "2000-01-01", 'observed = "obs.csv"', GOOD_ROWS.replace("11", "-11"),
        "obs.csv: row 3, column tb_incidence_per_100k: expected a number >= 0 or nothing; "
        "got '-11'"),
    "text observed value": (
        "2000-01-01", 'observed = "obs.csv"', GOOD_ROWS.replace("322", "many"),
        "obs.csv: row 4, column tb_incidence_per_100k: expected a number >= 0 or nothing; "
        "got 'many'"),
    "year that is not whole": (
        "2000-01-01", 'observed = "obs.csv"', GOOD_ROWS.replace("2001", "2001.5"),
        "obs.csv: row 3, column year: expected a whole year; got '2001.5'"),
    "a row twice": (
        "2000-01-01", 'observed = "obs.csv"', GOOD_ROWS + "IND,2000,300\n",
        "obs.csv: row 5: place 'IND' and year 2000 appear twice"),
    "target column missing": (
        "2000-01-01", 'observed = "obs.csv"', "id,year,incidence\nGBR,2000,12\n",
        "missing ['tb_incidence_per_100k']"),
    "observed file missing": (
        "2000-01-01", 'observed = "nowhere.csv"', None, "nowhere.csv is not a file"),
    "fit_until after the data": (
        "2000-01-01", "fit_until = 2030", None,
        "initial.fit_until must be between the start year 2000 and the last year"),
    "yearly parameter without a target": (
        "2000-01-01", 'yearly = ["detection"]', None,
        "initial.yearly must be parameters of the targets ['beta']"),
    "stochastic engine": (
        "2000-01-01", "", None, 'initial.method = "history" runs the deterministic engine '
        "only"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_history_input_is_one_line_exit_2(case, tmp_path):
    start, extra, rows, expected = CASES[case]
    text = HISTORY.format(start=start, extra=extra)
    if case == "stochastic engine":
        text = text.replace('model = "tb"', 'model = "tb"\nengine = "stochastic"')
    if rows is not None:
        (tmp_path / "obs.csv").write_text(rows)
    config = tmp_path / "h.toml"
    config.write_text(text)
    done = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert_refused(done, expected, tmp_path / "runs")
