"""The ``[risk]`` and ``[focus]`` sections: what the risk stage computes, which screening
programmes it compares, and which destinations the outputs are about.

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
from .programmes import BUILT_IN
from .screening import Policy, parse_policy

AT_LEAST_ONE = Number(low=1, integer=True)


@dataclass(frozen=True)
class UncertaintyConfig(Section):
    """``[risk.uncertainty]``: the number of members (0: none) and where they run."""

    members: int = setting(0, Number(low=0, high=100000, integer=True))
    executor: str = setting("serial", OneOf(("serial", "local")))
    workers: int = setting(2, Number(low=1, integer=True))
    fixed: tuple = setting(("detection",), Strings())
    """Parameters held at their value besides those the calibration fits per place (the
    case detection rate shapes the calibrated state, which members do not refit)."""


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
class FocusConfig(Section):
    """``[focus]``: the destinations the tables, maps and report are about (empty: the
    world)."""

    destination: tuple = setting((), Strings())
    name: str = setting("", Text())
    """What the report calls the focus (default: the places' names, or their number)."""


def parse_focus(table, ids: list[str] | None, problems: list[str]) -> FocusConfig:
    """``[focus] destination``: one place id or an array of them, each a place of the run."""
    if isinstance(table, dict) and isinstance(table.get("destination"), str):
        table = {**table, "destination": [table["destination"]]}
    cfg = FocusConfig.from_table(table, "focus", problems)
    for place in cfg.destination:
        if ids is not None and place not in ids:
            problems.append(must_be("focus.destination", "ids of places of the run",
                                    place))
    return cfg


@dataclass(frozen=True)
class RiskConfig(Section):
    """``[risk]``: arrivals by measure, screening programmes, future cases, arrival times."""

    enabled: bool = setting(True, Flag())
    time: str = setting("start", OneOf(("start", "end")))
    policy: str = setting("none", Text(nonempty=True))
    compare: tuple = setting((), Strings())
    policies: dict = setting({}, Table())
    """Config-defined policies, name -> :class:`~healthmob.risk.screening.Policy`."""
    future_tally: str = setting("auto", Text())
    future_from: str = setting("auto", Text())
    horizons_years: tuple = setting((1.0, 2.0, 5.0, 10.0),
                                    Numbers(Number(low=0, low_open=True, high=100)))
    arrival: ArrivalConfig = setting({}, Table())
    uncertainty: UncertaintyConfig = setting({}, Table())
    programmes: dict = dataclasses.field(default_factory=dict)
    """Every policy the model can run, resolved (:func:`resolve_policy`), by name."""

    def policy_named(self, name: str) -> Policy:
        """The policy ``name``, resolved against the model."""
        return self.programmes[name]

    def compared(self) -> list[Policy]:
        """The policies compared, in the order of ``compare``."""
        return [self.policy_named(name) for name in self.compare]


def parse_risk(table, spec: ModelSpec | None, problems: list[str],
               where: str = "risk") -> RiskConfig:
    """Check ``[risk]`` (against the model when it could be read) and fill its defaults:
    each policy's disease and measures; ``compare`` defaults to the run's policy then every
    built-in one the model can run; ``future_*`` ``"auto"`` becomes TB incidence from latent
    TB when the model has them."""
    cfg = RiskConfig.from_table(table, where, problems)
    policies = {name: parse_policy(entry, name, f"{where}.policies.{name}", problems)
                if isinstance(entry, dict) else entry
                for name, entry in cfg.policies.items()}
    for name, entry in cfg.policies.items():
        if not isinstance(entry, dict):
            problems.append(must_be(f"{where}.policies.{name}", "a table", entry))
    policies = {k: v for k, v in policies.items() if isinstance(v, Policy)}
    arrival = ArrivalConfig.from_table(cfg.arrival, f"{where}.arrival", problems)
    uncertainty = UncertaintyConfig.from_table(cfg.uncertainty, f"{where}.uncertainty",
                                               problems)
    cfg = dataclasses.replace(cfg, policies=policies, arrival=arrival, uncertainty=uncertainty)
    if spec is None:
        return cfg
    if cfg.enabled and not spec.arrivals:
        problems.append(f"model {spec.name!r} declares no [arrivals] measures: the risk stage "
                        f"needs them (docs/model-spec.md; or set {where}.enabled = false)")
        return cfg
    for name, policy in policies.items():
        for category in policy.applies_to:
            if spec.selection and category not in spec.selection:
                problems.append(must_be(f"{where}.policies.{name}.applies_to", "traveller "
                                        f"categories of model {spec.name!r} "
                                        f"{sorted(spec.selection)}", category))
    resolved = {name: resolve_policy(policy, spec, f"{where}.policies.{name}", problems)
                for name, policy in policies.items()}
    runnable = {name: resolve_policy(p, spec, "", []) for name, p in BUILT_IN.items()}
    runnable = {name: p for name, p in runnable.items() if p is not None}
    known = sorted(set(runnable) | set(resolved))
    compare = cfg.compare or (cfg.policy, *[p for p in runnable if p != cfg.policy])
    for key, names in (("policy", [cfg.policy]), ("compare", compare)):
        for name in names:
            if name not in known:
                problems.append(must_be(f"{where}.{key}", "one of the policies the model "
                                        f"{spec.name!r} can run {known}", name))
    cfg = dataclasses.replace(cfg, programmes={**runnable, **{
        k: v for k, v in resolved.items() if v is not None}}, compare=tuple(compare))
    return _future(cfg, spec, where, problems)


def resolve_policy(policy: Policy, spec: ModelSpec, where: str,
                   problems: list[str]) -> Policy | None:
    """The policy with its disease and measures filled and checked against the model (None,
    with the problems listed, when the model cannot run it)."""
    before = len(problems)
    if not policy.screens:
        return dataclasses.replace(policy, disease=policy.disease or next(iter(spec.diseases)))
    tests = policy.tests()
    diseases = [name for name, d in spec.diseases.items() if tests <= set(d.detectable)]
    disease = policy.disease
    if disease and disease not in spec.diseases:
        problems.append(must_be(f"{where}.disease", f"a disease of model {spec.name!r} "
                                f"{sorted(spec.diseases)}", disease))
    elif disease and disease not in diseases:
        missing = sorted(tests - set(spec.diseases[disease].detectable))
        problems.append(f"{where}.screens: no compartment of disease {disease!r} of model "
                        f"{spec.name!r} is detectable_by {missing}, so the policy would "
                        "screen nobody")
    elif not disease and len(diseases) != 1:
        problems.append(f"{where}.screens: tests {sorted(tests)} are "
                        + (f"declared by no compartment of model {spec.name!r}, so the policy "
                           "would screen nobody" if not diseases else
                           f"tests of several diseases {diseases}: set {where}.disease"))
    else:
        disease = disease or diseases[0]
    if len(problems) > before:
        return None
    finds = policy.finds or f"{disease}_infection"
    for key, name in (("finds", finds), ("treats", policy.treats)):
        if name and (name not in spec.arrivals or spec.arrivals[name].disease != disease):
            problems.append(must_be(f"{where}.{key}", f"an [arrivals] measure of disease "
                                    f"{disease!r} of model {spec.name!r}", name))
    delays = {s.after_arrival for s in policy.screens if s.stage == "post_entry"}
    if len(delays) > 1:
        problems.append(f"{where}.screens: post-entry screens must share one after_arrival; "
                        f"got {sorted(delays)}")
    if len(problems) > before:
        return None
    return dataclasses.replace(policy, disease=disease, finds=finds)


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
