"""The ``[risk]`` section: what the risk stage computes and which screening it compares.

Keys and defaults are the fields below (docs/config.md); ``[risk.policies.<name>]`` defines
a policy (:func:`healthmob.risk.screening.parse_policy`) and ``[risk.arrival]`` the arrival
times of a new strain (:mod:`healthmob.risk.arrival`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..checks import (
    Duration,
    Flag,
    Number,
    Numbers,
    OneOf,
    Section,
    Strings,
    Table,
    Text,
    must_be,
    setting,
)
from ..disease.spec import ModelSpec
from .screening import BUILT_IN, Policy, parse_policy

AT_LEAST_ONE = Number(low=1, integer=True)


@dataclass(frozen=True)
class ArrivalConfig(Section):
    """``[risk.arrival]``: a new strain seeded in ``seed_place`` (none when empty)."""

    seed_place: str = setting("", Text())
    model: str = setting("seir", Text(nonempty=True))
    members: int = setting(20, AT_LEAST_ONE)
    duration: str = setting("1 year", Duration())
    seed_count: int = setting(10, AT_LEAST_ONE)
    threshold: int = setting(1, AT_LEAST_ONE)


@dataclass(frozen=True)
class RiskConfig(Section):
    """``[risk]``: infected and undetectable arrivals, screening policies, future cases."""

    enabled: bool = setting(True, Flag())
    time: str = setting("start", OneOf(("start", "end")))
    policy: str = setting("none", Text(nonempty=True))
    compare: tuple = setting((), Strings())
    policies: dict = setting({}, Table())
    """Config-defined policies, name -> :class:`~healthmob.risk.screening.Policy`."""
    reference_tests: tuple = setting((), Strings())
    future_tally: str = setting("auto", Text())
    future_from: str = setting("auto", Text())
    horizons_years: tuple = setting((2.0, 5.0), Numbers(Number(low=0, low_open=True)))
    arrival: ArrivalConfig = setting({}, Table())

    def policy_named(self, name: str) -> Policy:
        """The policy ``name``: config-defined, else built in."""
        return self.policies.get(name) or BUILT_IN[name]

    def compared(self) -> list[Policy]:
        """The policies compared, in the order of ``compare``."""
        return [self.policy_named(name) for name in self.compare]


def parse_risk(table, spec: ModelSpec | None, problems: list[str],
               where: str = "risk") -> RiskConfig:
    """Check ``[risk]`` (against the model when it could be read) and fill its defaults:
    ``compare`` defaults to the run's policy then every other built-in one; ``future_*``
    ``"auto"`` becomes TB incidence from latent TB when the model has them."""
    cfg = RiskConfig.from_table(table, where, problems)
    policies = {name: parse_policy(entry, name, f"{where}.policies.{name}", problems)
                for name, entry in cfg.policies.items()}
    arrival = ArrivalConfig.from_table(cfg.arrival, f"{where}.arrival", problems)
    known = sorted(set(BUILT_IN) | set(policies))
    compare = cfg.compare or (cfg.policy, *[p for p in BUILT_IN if p != cfg.policy])
    for key, names in (("policy", [cfg.policy]), ("compare", compare)):
        for name in names:
            if name not in known:
                problems.append(must_be(f"{where}.{key}", f"one of the policies {known}",
                                        name))
    cfg = dataclasses.replace(cfg, policies=policies, arrival=arrival, compare=tuple(compare))
    if spec is None:
        return cfg
    declared = {t for c in spec.compartments for t in c.detectable_by}
    if cfg.enabled and not declared:
        problems.append(f"model {spec.name!r} declares no detectable_by on any compartment: "
                        f"the risk stage needs them (or set {where}.enabled = false)")
    for test in cfg.reference_tests:
        if test not in declared:
            problems.append(must_be(f"{where}.reference_tests", f"tests of model "
                                    f"{spec.name!r} {sorted(declared)}", test))
    for name, policy in policies.items():
        for category in policy.applies_to:
            if spec.selection and category not in spec.selection:
                problems.append(must_be(f"{where}.policies.{name}.applies_to", "traveller "
                                        f"categories of model {spec.name!r} "
                                        f"{sorted(spec.selection)}", category))
    return _future(cfg, spec, where, problems)


def _future(cfg: RiskConfig, spec: ModelSpec, where: str, problems: list[str]) -> RiskConfig:
    tally, start = cfg.future_tally, cfg.future_from
    if tally == "auto":
        tally = "tb_incidence" if "tb_incidence" in spec.tallies else ""
    if start == "auto":
        start = "ltbi_prevalence" if "ltbi_prevalence" in spec.outputs else ""
    if bool(tally) != bool(start):
        problems.append(f"{where}.future_tally and future_from must be given together")
    if tally and tally not in spec.tallies:
        problems.append(must_be(f"{where}.future_tally", f"a tally {sorted(spec.tallies)}",
                                tally))
    if start and start not in spec.outputs:
        problems.append(must_be(f"{where}.future_from", f"an output {sorted(spec.outputs)}",
                                start))
    return dataclasses.replace(cfg, future_tally=tally, future_from=start)
