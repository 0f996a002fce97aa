"""A run config's [network] section: one place takes its transmission rate from a
contact-network calibration, the others keep the model's."""

import textwrap

import numpy as np
import pytest

from healthmob.errors import ConfigError
from healthmob.pipeline import prepare
from healthmob.scenario import load_scenario

NETWORK = """
name = "tiny-network"
[network]
model = "sir"
n_nodes = 400
members = 3
seed = 5
max_time = "80 days"
step = "1 day"
initial_infected = 8
[network.networks.sparse]
type = "erdos_renyi"
mean_degree = 6.0
"""

RUN = """
name = "with-network"
model = "sir"
[places]
source = "{places}"
[time]
duration = "30 days"
[initial]
method = "fractions"
fractions = {{ S = 1.0 }}
[network]
places = [ {{ place = "BBB", config = "net.toml", network = "sparse", fit = "growth" }} ]
"""


def test_place_takes_the_network_calibrated_rate(tmp_path, places_csv):
    (tmp_path / "net.toml").write_text(textwrap.dedent(NETWORK))
    config = tmp_path / "run.toml"
    config.write_text(textwrap.dedent(RUN.format(places=places_csv)))
    prepared = prepare(load_scenario(config))
    beta = prepared.compiled.values["beta"] * 1.0
    default = prepared.scenario.spec.base_values()["beta"]
    assert beta[0] == beta[2] == pytest.approx(default)
    # a sparse network grows more slowly than the mean field: a lower equivalent rate
    assert 0 < beta[1] < default
    assert np.isfinite(beta).all()


def test_bad_network_places_are_reported(tmp_path, places_csv):
    config = tmp_path / "run.toml"
    text = RUN.format(places=places_csv).replace('"BBB"', '"ZZZ"').replace("growth", "speed")
    config.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as err:
        load_scenario(config)
    message = str(err.value)
    assert "network.places[0].place must be a place id; got 'ZZZ'" in message
    assert "network.places[0].config: network config file not found" in message
    assert "network.places[0].fit must be one of ['growth', 'final_size']" in message
