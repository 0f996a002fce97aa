"""Bad birthplace and selection input: one line naming the key, exit 2, nothing written."""

import pytest
import xarray as xr
from helpers import assert_refused, healthmob

WORLD = """name = "bp"
model = "tb_hiv"
[places]
source = "world"
ids = ["GBR", "IND", "PAK", "POL"]
[time]
duration = "2 years"
step = "1 month"
[initial]
method = "fractions"
fractions = { S_N = 1.0 }
[mobility]
layers = ["migration", "return"]
"""

CASES = {
    "unknown origin": ("[birthplace]\norigins = ['IND', 'XXX']\n",
                       "birthplace.origins: 'XXX' is not a place of the scenario"),
    "unknown region column": ("[birthplace]\nregion_column = 'birth_region'\n",
                              "birthplace.region_column must be a column of the places table"),
    "bands with a gap": ("[birthplace]\nbands = [[0, 2], [3, 5], [5, inf]]\n",
                         "gap or overlap: 2 != 3"),
    "overlapping bands": ("[birthplace]\nbands = [[0, 5], [2, 10], [10, inf]]\n",
                          "gap or overlap: 5 != 2"),
    "bands not ending open": ("[birthplace]\nbands = [[0, 2], [2, 5]]\n",
                              "birthplace.bands must be an array of [lower, upper] pairs"),
    "selection ratio outside its range": (
        "[parameters]\nmigrant_ltbi_ratio = 2.0\n",
        "parameters.migrant_ltbi_ratio must be within the declared range [0.3, 0.6]"),
    "unknown traveller category": (
        "[mobility.migration]\ncategory = 'tourist'\n",
        "mobility.migration.category must be a traveller category of model 'tb_hiv'"),
    "policy for an unknown category": (
        "[risk]\npolicy = 'x'\n[risk.policies.x]\napplies_to = ['pilgrim']\nscreens = "
        "[ { stage = 'arrival', test = 'symptoms', sensitivity = 0.5 } ]\n",
        "risk.policies.x.applies_to must be traveller categories of model 'tb_hiv'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_birthplace_input_is_one_line_exit_2(case, tmp_path):
    extra, expected = CASES[case]
    config = tmp_path / "bp.toml"
    config.write_text(WORLD + extra)
    done = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert_refused(done, expected, tmp_path / "runs")


def test_a_model_with_nothing_undetectable_runs_with_birthplace(tmp_path):
    """SIR on world places with the migration layer: the account runs without deaths, and
    risk runs although every infected compartment is detectable (no undetectable states)
    and no TB-incidence eligibility applies."""
    config = tmp_path / "sir.toml"
    config.write_text(WORLD.replace('model = "tb_hiv"', 'model = "sir"')
                      .replace("fractions = { S_N = 1.0 }", "fractions = { S = 0.99, I = 0.01 }")
                      .replace('layers = ["migration", "return"]',
                               'layers = ["air", "land", "migration", "return"]'))
    done = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    run = next((tmp_path / "runs").glob("bp-*"))
    risk = xr.open_dataset(run / "risk.nc")
    assert list(risk["measure"].values) == ["sir_infection"]
    assert float(risk["arrivals"].sum()) > 0
    assert "foreign_born_population" in xr.open_dataset(run / "results.nc")
