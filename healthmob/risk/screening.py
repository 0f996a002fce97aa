"""Screening of travellers: policies, the Gostic decision tree, and exported-case inversion.

A policy is a list of screens, each a test applied at departure or at arrival with a
sensitivity (and specificity). A person can be caught by a test only in a compartment whose
``detectable_by`` lists that test. Two person-level classes follow Gostic et al.: the share
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

from dataclasses import dataclass

import numpy as np

from ..checks import REQUIRED, Number, OneOf, Section, Strings, Tables, Text, setting

SYMPTOMS = "symptoms"
QUESTIONNAIRE = "questionnaire"
STAGES = ("departure", "arrival")
SHARE = Number(0, 1)


@dataclass(frozen=True)
class Screen(Section):
    """One test applied to every traveller at one stage of the journey."""

    stage: str = setting(REQUIRED, OneOf(STAGES))
    test: str = setting(REQUIRED, Text(nonempty=True))
    sensitivity: float = setting(REQUIRED, SHARE)
    specificity: float = setting(1.0, SHARE)


@dataclass(frozen=True)
class Policy(Section):
    """A screening policy: screens plus the two person-level class shares.

    ``[risk.policies.<name>]`` in a config; ``name`` is the table's name.
    """

    description: str = setting("", Text())
    screens: tuple = setting(REQUIRED, Tables())
    share_symptomatic: float = setting(0.5, SHARE)
    share_aware: float = setting(0.0, SHARE)
    applies_to: tuple = setting((), Strings())
    """Traveller categories the policy screens (the model's ``[selection]`` keys); empty:
    every traveller."""
    name: str = ""

    def screens_category(self, category: str | None) -> bool:
        """Whether travellers of ``category`` go through this policy's screens."""
        return not self.applies_to or category in self.applies_to

    def tests(self) -> set[str]:
        """Every test the policy applies (questionnaires excluded)."""
        return {s.test for s in self.screens if s.test != QUESTIONNAIRE}

    def classes(self) -> list[tuple[float, bool, bool]]:
        """The four person classes: (weight, shows symptoms, aware of exposure)."""
        f, g = self.share_symptomatic, self.share_aware
        return [(f * g, True, True), (f * (1 - g), True, False),
                ((1 - f) * g, False, True), ((1 - f) * (1 - g), False, False)]

    def miss_vector(self, stage: str, detectable: dict, infected: np.ndarray,
                    symptomatic: np.ndarray, shows: bool, aware: bool) -> np.ndarray:
        """P(a person of one class in each compartment passes this stage's screens).

        Parameters
        ----------
        detectable : dict of str to ndarray of bool
            For each test, which compartments it can detect.
        infected, symptomatic : ndarray of bool
            Compartment masks.
        shows, aware : bool
            The person's class.
        """
        miss = np.ones(len(infected))
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
        return miss

    def false_positive_rate(self) -> float:
        """P(an uninfected traveller is wrongly flagged by at least one screen)."""
        keep = 1.0
        for screen in self.screens:
            keep *= screen.specificity
        return 1.0 - keep


MIGRANTS = ("settlement", "labour", "study", "refugee")
"""Long-stay migrants: who pre-entry and post-arrival programmes screen (UK pre-entry
screening is for visa applicants staying more than six months; visitors are not X-rayed)."""


def _policy(name: str, description: str, screens: list[tuple], share_aware: float = 0.0,
            applies_to: tuple = ()):
    return Policy(description, tuple(Screen(*s) for s in screens), 0.5, share_aware,
                  applies_to, name)


CXR = ("departure", "cxr", 0.87, 0.99)
IGRA = ("arrival", "igra", 0.80, 0.97)
HIV_TEST = ("arrival", "hiv_ag_ab", 0.999, 0.998)
BUILT_IN = {policy.name: policy for policy in (
    _policy("none", "no screening", []),
    _policy("symptoms_arrival", "symptom screening at arrival",
            [("arrival", SYMPTOMS, 0.7, 1.0)]),
    _policy("symptoms_both", "symptom screening at departure and at arrival",
            [("departure", SYMPTOMS, 0.7, 1.0), ("arrival", SYMPTOMS, 0.7, 1.0)]),
    _policy("pre_entry_cxr", "pre-entry chest X-ray with sputum culture for active TB, "
            "long-stay migrants", [CXR], applies_to=MIGRANTS),
    _policy("igra_arrival", "IGRA for latent TB at arrival, long-stay migrants", [IGRA],
            applies_to=MIGRANTS),
    _policy("hiv_test_arrival", "4th-generation HIV Ag/Ab test at arrival, long-stay migrants",
            [HIV_TEST], applies_to=MIGRANTS),
    _policy("questionnaire_arrival", "exposure-risk questionnaire at arrival",
            [("arrival", QUESTIONNAIRE, 0.5, 1.0)], share_aware=0.29),
    _policy("pre_entry_cxr_igra_hiv", "pre-entry chest X-ray and culture, then IGRA and HIV "
            "test at arrival, long-stay migrants", [CXR, IGRA, HIV_TEST],
            applies_to=MIGRANTS),
)}
"""The built-in policies by name. Sensitivities and specificities are the literature values
quoted in docs/risk.md; a config may define its own (``[risk.policies.<name>]``)."""


def parse_policy(table, name: str, where: str, problems: list[str]) -> Policy:
    """A config-defined policy (``[risk.policies.<name>]``), every problem reported."""
    policy = Policy.from_table(table, where, problems, name=name)
    screens = tuple(Screen.from_table(s, f"{where}.screens[{i}]", problems)
                    for i, s in enumerate(policy.screens or ()))
    return Policy(policy.description or name, screens, policy.share_symptomatic,
                  policy.share_aware, policy.applies_to, name)


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
