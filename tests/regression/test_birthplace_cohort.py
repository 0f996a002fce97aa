"""The birthplace account follows a cohort of arrivals through the model's own chain.

the science brief check #5 (Ragonnet et al. 2017 Epidemics 21:39, lifetime risk of TB
after infection with background mortality 1/70 a year), computed from the foreign-born
outputs of :func:`healthmob.birthplace.account.run_account`: a cohort arrives newly infected
(``LE0``) and is never exposed again; its tallied TB incidence over its lifetime is the
chain's cumulative activation, 0.209 (all ages), 0.121 (15+) and 0.354 (0-4).
"""

import numpy as np
import pytest

from healthmob.birthplace.account import OriginGroups, StartCohorts, run_account
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.disease.schedule import Schedule
from healthmob.units import DAYS_PER_YEAR

OFF = {"beta": 0.0, "tb_death": 0.0, "self_cure": 0.0, "detection": 0.0,
       "background_mortality": 1 / 70 / DAYS_PER_YEAR}
ALL_AGES = {}
AGE_15_PLUS = {"early_activation": 2.7e-4, "stabilisation": 5.4e-3, "late_reactivation": 3.3e-6}
AGE_0_4 = {"early_activation": 6.6e-3, "stabilisation": 1.2e-2, "late_reactivation": 1.9e-11}
YEARS = 600


def _lifetime_cohort(rates):
    spec = load_model("tb")
    compiled = compile_model(spec, 1, {**OFF, **rates})
    n_comp, n_tally = len(spec.compartments), len(spec.tallies)
    cohorts = np.zeros((1, 1, 2, n_comp))
    cohorts[0, 0, 0, spec.compartment_ids.index("LE0")] = 1000.0
    start = StartCohorts(cohorts, OriginGroups(np.zeros((1, 1), dtype=int),
                                               np.array([["ORIGIN"]])), np.zeros(1),
                         np.zeros(0, int), np.zeros(0, int), np.zeros((0, cohorts.shape[-1])))
    times = np.array([0.0, YEARS * DAYS_PER_YEAR])
    account = run_account(Schedule.constant(compiled), times, np.zeros((2, 1, n_comp)),
                          np.zeros((2, 1, n_tally)), np.zeros((2, 1, len(spec.infections))),
                          start, [])
    return spec, account


@pytest.mark.parametrize("rates, expected", [
    (ALL_AGES, 0.209), (AGE_15_PLUS, 0.121), (AGE_0_4, 0.354)])
def test_arrivals_with_latent_tb_reproduce_the_lifetime_risk(rates, expected):
    spec, account = _lifetime_cohort(rates)
    incidence = account.tallies[..., list(spec.tallies).index("tb_incidence")].sum()
    assert incidence / 1000.0 == pytest.approx(expected, abs=1e-3)


def test_the_cohort_ages_through_the_years_since_entry_slots():
    """Slot 0 in the first year, slot 1 in the second, the open slot after."""
    _, account = _lifetime_cohort(ALL_AGES)
    population = account.population[:, 0, 0]          # (year, slot)
    assert population[0] == pytest.approx([1000.0, 0.0])
    assert population[1, 0] == 0.0 and population[1, 1] > 0
    survival = population.sum(axis=1)
    assert np.all(np.diff(survival) < 0)              # background mortality, no returns
    assert survival[70] / 1000.0 == pytest.approx(np.exp(-1.0), rel=1e-9)


def test_a_model_without_deaths_keeps_its_cohort():
    """SIR has no deaths and the cohort no return hazard: the generator is singular, the
    integral comes from the block exponential, and nobody is lost in 20 years."""
    spec = load_model("sir")
    compiled = compile_model(spec, 1, {})
    n_comp, n_tally = len(spec.compartments), len(spec.tallies)
    cohorts = np.zeros((1, 1, 2, n_comp))
    cohorts[0, 0, 0, spec.compartment_ids.index("S")] = 1000.0
    start = StartCohorts(cohorts, OriginGroups(np.zeros((1, 1), dtype=int),
                                               np.array([["ORIGIN"]])), np.zeros(1),
                         np.zeros(0, int), np.zeros(0, int), np.zeros((0, cohorts.shape[-1])))
    times = np.array([0.0, 20 * DAYS_PER_YEAR])
    force = np.full((2, 1, len(spec.infections)), 1e-3)
    account = run_account(Schedule.constant(compiled), times, np.zeros((2, 1, n_comp)),
                          np.zeros((2, 1, n_tally)), force, start, [])
    assert np.isfinite(account.tallies).all()
    assert account.population.sum(axis=(1, 2, 3)) == pytest.approx(np.full(20, 1000.0))
    assert account.tallies.sum() > 0
