"""With the default selection of long-stay migrants, the model's pre-entry chest X-ray
yield among UK-bound migrants is within 1.5x of the published yield of the UK programme.

Published: 92 (95% CI 84-101) bacteriologically confirmed cases per 100,000 screened among
476,455 visa applicants from 15 high-incidence countries, October 2005 - December 2013 (UK
pilot; Aldridge et al. 2016 Lancet Infect Dis 16:962). The model's counterpart: the
``migration`` layer's arrivals into GBR from the pilot's countries (five of them have a
migration flow to the UK in the model: Bangladesh, Ghana, Kenya, Pakistan, Somalia),
screened by ``pre_entry_cxr`` (sensitivity 0.87 in the compartments a chest X-ray detects:
active TB, untreated or on treatment): 107 per 100,000 when measured. A random sample of
the origin (no selection) gives 2.9 times the published yield.
"""

import numpy as np
import pytest

from healthmob.disease.selection import selection_weights, travellers
from healthmob.pipeline import prepare
from healthmob.risk.assess import assess_risk, risk_inputs
from healthmob.risk.config import FocusConfig, parse_risk
from healthmob.risk.programmes import BUILT_IN
from healthmob.scenario import load_scenario

PUBLISHED_PER_100K = 92.0
PILOT = ["BGD", "BFA", "KHM", "CIV", "ERI", "GHA", "KEN", "LAO", "NER", "PAK", "SOM", "SDN",
         "TZA", "THA", "TGO"]
"""The 15 countries of the UK pilot, October 2005 - December 2013 (Aldridge et al. 2016)."""


@pytest.fixture(scope="module")
def uk_bound():
    prepared = prepare(load_scenario("world"))
    places = prepared.scenario.places
    j = list(places["id"]).index("GBR")
    flow = prepared.mobility.layers["migration"].flow.toarray()[:, j]
    keep = places["id"].isin(PILOT).to_numpy() & (flow > 0)
    return prepared, flow, keep


def _yield(prepared, flow, keep, weights) -> float:
    spec = prepared.scenario.spec
    active = np.array(["cxr" in c.detectable_by for c in spec.compartments])
    composition = travellers(prepared.initial.state, weights)
    (screen,) = BUILT_IN["pre_entry_cxr"].screens
    share = (flow[keep] * composition[keep][:, active].sum(axis=1)).sum() / flow[keep].sum()
    return 1e5 * screen.sensitivity * share


def test_pre_entry_cxr_yield_within_1_5x_of_the_uk_programme(uk_bound):
    prepared, flow, keep = uk_bound
    assert keep.sum() >= 4
    weights = selection_weights(prepared.scenario.spec, prepared.compiled.values,
                                prepared.initial.state, "settlement")
    model = _yield(prepared, flow, keep, weights)
    assert PUBLISHED_PER_100K / 1.5 <= model <= PUBLISHED_PER_100K * 1.5, model


def test_without_selection_the_yield_is_too_high(uk_bound):
    """The defect the selection factors remove: a random sample of the origin."""
    prepared, flow, keep = uk_bound
    assert _yield(prepared, flow, keep, None) > 1.5 * PUBLISHED_PER_100K


def test_post_entry_igra_positivity_within_1_5x_of_nhs_england(uk_bound):
    """NHS England's latent TB programme: 17% of 45,121 new entrants aged 16-35 from
    countries with >= 150 cases per 100,000 were IGRA-positive (2015 - March 2019). The
    model: true positives with TB infection plus false positives among the UK-bound
    long-stay migrants that ``post_entry_ltbi_150`` screens (the model has no ages)."""
    prepared, _, _ = uk_bound
    scenario = prepared.scenario
    problems = []
    cfg = parse_risk({"policy": "post_entry_ltbi_150", "compare": ["post_entry_ltbi_150"]},
                     scenario.spec, problems)
    assert not problems
    inputs = risk_inputs(scenario.spec, prepared.compiled, prepared.initial.state,
                         scenario.places, prepared.mobility, scenario.mobility,
                         {"return": prepared.weights["return"]}, scenario.name,
                         scenario.costs, FocusConfig(("GBR",)), "2022-01-01")
    ltbi = assess_risk(inputs, cfg).sel(policy="post_entry_ltbi_150", destination="GBR")
    positive = float(ltbi.found.sel(measure="tb_infection").sum() + ltbi.false_positives.sum())
    share = positive / float(ltbi.screened.sum())
    assert 0.17 / 1.5 <= share <= 0.17 * 1.5, share
