"""Screening of travellers: policies, the Gostic decision tree, and exported-case inversion.

A policy (a screening programme) says whom it screens (traveller categories, minimum stay,
origin TB incidence, coverage), its screens, each a test applied before travel, on arrival or
after arrival with a sensitivity and specificity, and the preventive treatment that follows
(uptake, completion, efficacy); the built-in ones are in :mod:`.programmes`. A person is
flagged truly by a test only in a compartment of the policy's disease whose
``detectable_by`` lists it, and anyone else with one minus its specificity. Two
person-level classes follow Gostic et al.: the share
``share_symptomatic`` (f) who would show symptoms when in a symptomatic compartment, and the
share ``share_aware`` (g) who know and report their exposure (risk questionnaire). Channels
are independent, so for one traveller

    P_miss = [1 - f (1 - A)] * [1 - g (1 - B)]

with A the probability to evade the symptom channel for a person of class f and B the
probability to evade the questionnaire for an aware person.

References
----------
Gostic KM, Kucharski AJ, Lloyd-Smith JO (2015). Effectiveness of traveller screening for
emerging pathogens is shaped by epidemiology and natural history of infection. eLife 4:e05564.
Imai N, Dorigatti I, Cori A, Riley S, Ferguson NM (2020). Estimating the potential total
number of novel Coronavirus cases in Wuhan City, China. Imperial College report 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..checks import (
    REQUIRED,
    Duration,
    Number,
    Numbers,
    OneOf,
    Section,
    Strings,
    Tables,
    Text,
    setting,
)
from ..units import parse_duration

SYMPTOMS = "symptoms"
QUESTIONNAIRE = "questionnaire"
STAGES = ("departure", "arrival", "post_entry")
"""When a screen is applied: before travel (pre-entry), on arrival, or ``after_arrival``
after it (post-entry)."""
SHARE = Number(0, 1)


@dataclass(frozen=True)
class Screen(Section):
    """One test applied at one stage to the travellers a policy screens."""

    stage: str = setting(REQUIRED, OneOf(STAGES))
    test: str = setting(REQUIRED, Text(nonempty=True))
    sensitivity: float = setting(REQUIRED, SHARE)
    specificity: float = setting(1.0, SHARE)
    after_arrival: str = setting("3 months", Duration())
    """Post-entry screens: when after arrival they are done (other stages ignore it)."""

    @property
    def delay_days(self) -> float:
        """Days after arrival of a post-entry screen (0 for the other stages)."""
        return parse_duration(self.after_arrival) if self.stage == "post_entry" else 0.0


@dataclass(frozen=True)
class Policy(Section):
    """A screening programme: who is screened, when, with which tests, and what follows.

    ``[risk.policies.<name>]`` in a config; ``name`` is the table's name; ``disease`` is
    filled from the tests when the config leaves it empty (docs/risk.md).
    """

    description: str = setting("", Text())
    screens: tuple = setting(REQUIRED, Tables())
    disease: str = setting("", Text())
    """The disease it screens for (its tests' disease; needed only for symptom screens)."""
    applies_to: tuple = setting((), Strings())
    """Traveller categories screened (the model's ``[selection]`` keys); empty: every one."""
    min_stay: str = setting("", Text())
    """Only travellers staying at least this long (a duration); empty: any stay."""
    min_origin_incidence: float = setting(0.0, Number(low=0))
    """Only travellers from origins with WHO TB incidence at least this (per 100,000/year)."""
    coverage: float = setting(1.0, SHARE)
    """Share of the eligible travellers who are screened."""
    finds: str = setting("", Text())
    """The arrival measure its yield counts (e.g. ``tb_active``); empty: the disease's
    ``<disease>_infection``."""
    treats: str = setting("", Text())
    """The arrival measure whose screen-positive people are offered preventive treatment
    (e.g. ``tb_latent``); empty: none."""
    treatment_uptake: float = setting(0.0, SHARE)
    treatment_completion: float = setting(0.0, SHARE)
    treatment_efficacy: float = setting(0.0, SHARE)
    treatment_efficacy_range: tuple = setting((), Numbers(SHARE))
    """[low, high] of the efficacy, sampled by the uncertainty ensemble; empty: fixed."""
    share_symptomatic: float = setting(0.5, SHARE)
    share_aware: float = setting(0.0, SHARE)
    name: str = ""

    @property
    def min_stay_days(self) -> float:
        """The minimum stay in days (0: any stay)."""
        return parse_duration(self.min_stay) if self.min_stay else 0.0

    def screens_category(self, category: str | None) -> bool:
        """Whether travellers of ``category`` are in the policy's categories."""
        return not self.applies_to or category in self.applies_to

    def tests(self) -> set[str]:
        """Every test the policy applies (questionnaires excluded)."""
        return {s.test for s in self.screens if s.test != QUESTIONNAIRE}

    def classes(self) -> list[tuple[float, bool, bool]]:
        """The person classes: (weight, shows symptoms, aware of exposure); one class when
        no screen depends on symptoms or on awareness."""
        if not any(s.test in (SYMPTOMS, QUESTIONNAIRE) for s in self.screens):
            return [(1.0, False, False)]
        f, g = self.share_symptomatic, self.share_aware
        return [(f * g, True, True), (f * (1 - g), True, False),
                ((1 - f) * g, False, True), ((1 - f) * (1 - g), False, False)]

    def flag_vectors(self, stage: str, detectable: dict, infected: np.ndarray,
                     symptomatic: np.ndarray, shows: bool, aware: bool):
        """P(a person of one class in each compartment is flagged by this stage's screens):
        truly (by a screen that detects the compartment) and at all.

        A screen flags a person in a compartment it detects with its sensitivity and anyone
        else with one minus its specificity (a false positive); screens at one stage are
        independent, and a person flagged by any of them is taken out of the stream.

        Parameters
        ----------
        detectable : dict of str to ndarray of bool
            For each test, which compartments it can detect (the policy's disease).
        infected, symptomatic : ndarray of bool
            Compartment masks.
        shows, aware : bool
            The person's class.

        Returns
        -------
        true, flagged : ndarray
            Per compartment: P(flagged by a screen that detects it), P(flagged at all).
        """
        miss, keep = np.ones(len(infected)), np.ones(len(infected))
        for screen in self.screens:
            if screen.stage != stage:
                continue
            if screen.test == QUESTIONNAIRE:
                caught = infected & aware
            elif screen.test == SYMPTOMS:
                caught = detectable.get(SYMPTOMS, np.zeros_like(infected)) & symptomatic & shows
            else:
                caught = detectable.get(screen.test, np.zeros_like(infected))
            miss *= np.where(caught, 1.0 - screen.sensitivity, 1.0)
            keep *= np.where(caught, 1.0 - screen.sensitivity, screen.specificity)
        return 1.0 - miss, 1.0 - keep


def parse_policy(table, name: str, where: str, problems: list[str]) -> Policy:
    """A config-defined policy (``[risk.policies.<name>]``), every problem reported."""
    policy = Policy.from_table(table, where, problems, name=name)
    screens = tuple(Screen.from_table(s, f"{where}.screens[{i}]", problems)
                    for i, s in enumerate(policy.screens or ()))
    if policy.min_stay:
        try:
            parse_duration(policy.min_stay)
        except ValueError:
            problems.append(f"{where}.min_stay must be a duration '<number> "
                            f"<day|week|month|year>'; got {policy.min_stay!r}")
    span = policy.treatment_efficacy_range
    if span and (len(span) != 2 or not span[0] <= policy.treatment_efficacy <= span[1]):
        problems.append(f"{where}.treatment_efficacy_range must be [low, high] around "
                        f"treatment_efficacy {policy.treatment_efficacy}; got {list(span)}")
    return replace(policy, description=policy.description or name, screens=screens)


def gostic_miss(F_d, F_dd, f, g, s_d, s_a, r_d, r_a):
    """Closed form of the Gostic decision tree: P(an infected traveller is missed).

    Parameters
    ----------
    F_d, F_dd : float or ndarray
        Incubation CDF at departure (infection age d) and at arrival (d + travel time).
    f, g : float
        Shares with detectable symptoms and aware of their exposure.
    s_d, s_a, r_d, r_a : float
        Sensitivities of symptom screening and questionnaire at departure and arrival.
    """
    a = F_d * (1 - s_d) * (1 - s_a) + (F_dd - F_d) * (1 - s_a) + (1 - F_dd)
    b = (1 - r_d) * (1 - r_a)
    return (1 - f * (1 - a)) * (1 - g * (1 - b))


def gostic_miss_tree(F_d, F_dd, f, g, s_d, s_a, r_d, r_a):
    """The same probability by enumerating every path of the Gostic et al. 2015 tree.

    Per class (febrile or not, aware or not): symptomatic at departure or not; caught by
    the departure symptom screen, then by the departure questionnaire; onset in flight;
    caught by the arrival symptom screen, then by the arrival questionnaire.
    """
    missed = 0.0
    for febrile, p_febrile in ((True, f), (False, 1 - f)):
        for aware, p_aware in ((True, g), (False, 1 - g)):
            sym_d, sym_a = (s_d, s_a) if febrile else (0.0, 0.0)
            risk_d, risk_a = (r_d, r_a) if aware else (0.0, 0.0)
            paths = [  # (probability of the onset path, symptomatic at departure, at arrival)
                (F_d, True, True), (F_dd - F_d, False, True), (1 - F_dd, False, False)]
            for p_path, at_departure, at_arrival in paths:
                p = p_path
                if at_departure:
                    p = p * (1 - sym_d)       # not caught by the departure symptom screen
                p = p * (1 - risk_d)          # nor by the departure questionnaire
                if at_arrival:
                    p = p * (1 - sym_a)       # nor by the arrival symptom screen
                p = p * (1 - risk_a)          # nor by the arrival questionnaire
                missed = missed + p_febrile * p_aware * p
    return missed


def exported_case_inversion(travellers_per_day: float, catchment: float, window_days: float,
                            exported_cases: float) -> tuple[float, float]:
    """Imai et al. (2020): probability that a case travels, and the implied total cases.

    ``p = travellers_per_day / catchment * window_days``; total cases = exported / p.
    """
    p = travellers_per_day / catchment * window_days
    return p, exported_cases / p
