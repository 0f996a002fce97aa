"""The model-spec loader: valid models load; every problem in a bad spec is reported at once."""

import tomllib

import pytest

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model, parse_model
from healthmob.errors import ModelSpecError
from healthmob.units import DAYS_PER_YEAR

GOOD = """
name = "toy"
compartments = [ { id = "S" }, { id = "I", infectious = 1.0 }, { id = "R" } ]
transitions = [ { from = "I", to = "R", rate = "1/dur_inf" } ]
infections = [ { from = "S", to = "I", rate = "beta" } ]
[parameters]
beta = { value = 0.3, units = "1/day", source = "test" }
dur_inf = { value = 2.0, units = "week", source = "test" }
"""


@pytest.mark.parametrize("name", ["sir", "seir", "tb"])
def test_shipped_models_load_with_cited_parameters(name):
    spec = load_model(name)
    assert spec.compartments and spec.parameters
    assert all(p.source.strip() for p in spec.parameters.values())


def test_units_are_converted_once_at_load():
    spec = parse_model(tomllib.loads(GOOD))
    model = compile_model(spec)
    assert model.tr_rate[0, 0] == pytest.approx(1 / 14)  # 1/(2 weeks) in 1/day
    tb = load_model("tb")
    assert tb.base_values()["tb_death"] == pytest.approx(0.15 / DAYS_PER_YEAR)
    # default infectious weights come from the compartments
    assert spec.infections[0].sources == {"I": 1.0}


def test_every_problem_is_reported_at_once():
    bad = GOOD.replace('units = "1/day"', 'units = "1/fortnight"')
    bad = bad.replace('to = "R"', 'to = "Q"').replace("value = 2.0", "value = -2.0")
    bad = bad.replace('name = "toy"', 'name = "toy"\ncolour = "red"')
    with pytest.raises(ModelSpecError) as err:
        parse_model(tomllib.loads(bad), where="bad.toml")
    message = str(err.value)
    assert message.startswith("bad.toml: ")
    for fragment in ("parameters.beta.units must be one of", "1/fortnight",
                     "transitions[0].to must be a declared compartment", "'Q'",
                     "parameters.dur_inf.value must be >= 0", "colour is not a known key"):
        assert fragment in message
    assert "\n" not in message


def test_rate_with_wrong_dimension_is_refused():
    bad = GOOD.replace('rate = "1/dur_inf"', 'rate = "dur_inf"')
    with pytest.raises(ModelSpecError, match=r"must have units of 1/time"):
        parse_model(tomllib.loads(bad))


def test_undeclared_parameter_and_missing_source():
    bad = GOOD.replace('rate = "beta"', 'rate = "beta * q"')
    bad = bad.replace('units = "week", source = "test"', 'units = "week"')
    with pytest.raises(ModelSpecError) as err:
        parse_model(tomllib.loads(bad))
    assert "'q' must be a declared parameter" in str(err.value)
    assert "parameters.dur_inf.source must cite" in str(err.value)


def test_tb_model_is_stationary_without_disease():
    """Births replace every death: the generator with births closed has zero row sums."""
    model = compile_model(load_model("tb"))
    q = model.generator(0, births_close=True)
    assert abs(q.sum(axis=1)).max() < 1e-15


def test_absorbing_state_with_births_is_refused():
    table = tomllib.loads(GOOD)
    table["births"] = {"to": "S", "rate": "beta"}
    with pytest.raises(ModelSpecError, match=r"compartments \['R'\] have no way out"):
        parse_model(table, where="absorbing.toml")
