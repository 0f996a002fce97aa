"""Disease models on contact networks with epydemic (the only module importing epydemic).

A model spec (``models/*.toml``) becomes an epydemic :class:`~epydemic.CompartmentedModel`
(docs/networks.md):

* each compartment is an epydemic compartment (plus ``dead`` when people die and nobody
  replaces them);
* each spontaneous transition is a per-node event at its rate (per day) on the nodes of its
  source compartment (``from = "*"`` expands to every compartment);
* each infection is a per-edge event on the edges joining a node of its source compartment to
  an infectious node, at the **per-contact rate** ``tau * w``: ``w`` is the infectious
  compartment's weight and ``tau = beta / <k>`` (``contact_scaling = "mean_degree"``, the
  default), ``<k>`` the network's mean degree, so that a node with the mean number of
  contacts feels the mean-field force ``beta * I / N`` and dense networks converge to the
  mean-field model; ``contact_scaling = "none"`` reads ``beta`` as the per-contact rate;
* a death either refills the node with a newborn in the birth compartment, keeping its
  contacts (``births.replace_deaths``), or moves it to ``dead``, where nothing happens.

Dynamics are Gillespie (:class:`~epydemic.StochasticDynamics`), always with a maximum time.
A member's randomness (network and epidemic) comes from one ``SeedSequence`` only.
"""

from __future__ import annotations

import random
import time

import epydemic
import networkx as nx
import numpy as np
from epydemic import (
    CompartmentedLocus,
    CompartmentedModel,
    CompartmentedNodeLocus,
    NetworkGenerator,
    StochasticDynamics,
)

from ..disease.compile import compile_model
from ..disease.spec import ModelSpec
from ..errors import ModelSpecError
from .fit import per_contact_rates
from .generators import degree_statistics, degrees_of, generate_edges

DEAD = "dead"
"""Extra compartment of people who died and were not replaced."""


class _IndexedSet:
    """O(1) add, discard and uniform draw (a list plus a position map), replacing the
    balanced tree of epydemic's :class:`~epydemic.DrawSet` (O(log n) in pure Python, 80% of
    the run time on dense networks). Draws use ``epydemic.rng``."""

    def _init_set(self):
        self._items, self._where = [], {}

    def add(self, e):
        if e not in self._where:
            self._where[e] = len(self._items)
            self._items.append(e)

    def discard(self, e):
        i = self._where.pop(e, None)
        if i is not None:
            last = self._items.pop()
            if i < len(self._items):
                self._items[i] = last
                self._where[last] = i

    def remove(self, e):
        if e not in self._where:
            raise KeyError(e)
        self.discard(e)

    def draw(self):
        if not self._items:
            raise ValueError("Drawing from an empty set")
        return self._items[int(epydemic.rng.integers(len(self._items)))]

    def __len__(self):
        return len(self._items)

    def __contains__(self, e):
        return e in self._where

    def __iter__(self):
        return iter(list(self._items))

    def empty(self):
        return not self._items


class _NodeLocus(_IndexedSet, CompartmentedNodeLocus):
    """Nodes in one compartment."""

    def __init__(self, name: str, compartment: str):
        CompartmentedNodeLocus.__init__(self, name, compartment)
        self._init_set()


class _EdgeLocus(_IndexedSet, CompartmentedLocus):
    """Edges ``(n, m)`` with ``n`` in compartment ``left`` and ``m`` in any of ``right``."""

    def __init__(self, name: str, left: str, right: frozenset):
        CompartmentedLocus.__init__(self, name)
        self._init_set()
        self._left, self._right = left, right

    def compartments(self):
        return [self._left, *sorted(self._right)]

    def _oriented(self, n, m):
        comp = self.process().node_compartment
        if comp[n] == self._left and comp[m] in self._right:
            return (n, m)
        if comp[m] == self._left and comp[n] in self._right:
            return (m, n)
        return None

    def addHandler(self, g, e):  # noqa: N802 (epydemic's names)
        if isinstance(e, tuple) and (edge := self._oriented(*e)) is not None:
            self.add(edge)

    def removeHandler(self, g, e):  # noqa: N802
        if isinstance(e, tuple) and (edge := self._oriented(*e)) is not None:
            self.discard(edge)

    def leaveHandler(self, g, n):  # noqa: N802
        self._update(n, self.discard)

    def enterHandler(self, g, n):  # noqa: N802
        self._update(n, self.add)

    def _update(self, n, op):
        # called while node n is in the compartment it leaves or has just entered
        process = self.process()
        comp, c = process.node_compartment, process.node_compartment[n]
        if c == self._left:
            for m in process.adjacency[n]:
                if comp[m] in self._right:
                    op((n, m))
        elif c in self._right:
            for m in process.adjacency[n]:
                if comp[m] == self._left:
                    op((m, n))


class SpecModel(CompartmentedModel):
    """An epydemic compartmented model built from a compiled healthmob model.

    Parameters
    ----------
    compiled : CompiledModel
        Compiled for one place (rates per day).
    per_contact : ndarray, shape (K,)
        Per-contact transmission rate of each infection for unit infectiousness (1/day).
    x0 : ndarray of int, shape (C,)
        Initial persons per compartment (summing to the number of nodes).
    times : ndarray
        Output times (days); the last one is the maximum simulation time.
    """

    def __init__(self, compiled, per_contact, x0, times):
        super().__init__()
        self._compiled, self._per_contact = compiled, np.asarray(per_contact, dtype=float)
        self._x0, self._times = np.asarray(x0, dtype=np.int64), np.asarray(times, dtype=float)
        self.setMaximumTime(float(self._times[-1]))
        ids = list(compiled.compartments)
        self._ids = ids + ([DEAD] if self.uses_dead else [])
        self._index = {cid: i for i, cid in enumerate(self._ids)}
        self.events = 0

    @property
    def uses_dead(self) -> bool:
        """True when deaths are not replaced by births (the node moves to ``dead``)."""
        return bool(np.any(self._compiled.is_death)) and not self._compiled.replace_deaths

    @property
    def compartment_ids(self) -> list[str]:
        """Compartments in output order (the spec's, then ``dead`` if used)."""
        return list(self._ids)

    def event_table(self) -> list[tuple]:
        """The events the model declares: ``(kind, locus, rate, source, target, what)``.

        ``kind`` is ``"node"`` or ``"edge"``; node events use locus ``"node:<c>"``, edge
        events ``"edge:<k>:<w>"`` for infection ``k`` and infectiousness weight ``w``
        (compartments of equal weight share a locus); ``rate`` is per element per day;
        ``what`` is ``("transition", t)`` or ``("infection", k, infectious compartments)``.
        """
        m = self._compiled
        table = []
        for t, (src, dst) in enumerate(zip(m.tr_source, m.tr_target)):
            source = m.compartments[src]
            if dst < 0:
                target = m.compartments[m.birth_target] if m.replace_deaths else DEAD
            else:
                target = m.compartments[dst]
            no_change = target == source and not m.tally_tr[t].any()
            if m.tr_rate[0, t] > 0 and not no_change:
                table.append(("node", f"node:{source}", float(m.tr_rate[0, t]), source, target,
                              ("transition", t)))
        for k in range(len(m.inf_source)):
            source = m.compartments[m.inf_source[k]]
            for w in sorted(set(m.inf_weight[k][m.inf_weight[k] > 0])):
                right = frozenset(c for c, wc in zip(m.compartments, m.inf_weight[k]) if wc == w)
                if source in right:
                    raise ModelSpecError(
                        f"model {m.spec.name!r}: infections[{k}] must not infect its own "
                        f"infectious compartment {source!r} on a network")
                table.append(("edge", f"edge:{k}:{w:g}", float(self._per_contact[k] * w),
                              source, m.compartments[m.inf_target[k]], ("infection", k, right)))
        return table

    def build(self, params):
        super().build(params)
        for cid in self._ids:
            self.addCompartment(cid, 0.0)
        self._counts = np.zeros(len(self._ids), dtype=np.int64)
        self._tallies = np.zeros(len(self._compiled.tally_names), dtype=np.int64)
        self._infections = 0
        self._state = np.zeros((len(self._times), len(self._ids)), dtype=np.int64)
        self._cumulative = np.zeros((len(self._times), 1 + len(self._tallies)), dtype=np.int64)
        self.events = 0
        graph = self.network()
        self.node_compartment = [None] * graph.number_of_nodes()
        self.adjacency = [list(graph.adj[n]) for n in range(graph.number_of_nodes())]
        loci = {}
        for kind, name, rate, source, target, what in self.event_table():
            if name not in loci:
                if kind == "node":
                    loci[name] = self.addLocus(name, _NodeLocus(name, source))
                else:
                    loci[name] = self.addLocus(name, _EdgeLocus(name, source, what[2]))
            self.addEventPerElement(loci[name], rate, self._handler(kind, target, what))
        for i, t in enumerate(self._times):
            self.postEvent(float(t), i, self._snapshot)

    def _handler(self, kind, target, what):
        tallies = (self._compiled.tally_tr[what[1]] if what[0] == "transition"
                   else self._compiled.tally_inf[what[1]]).astype(np.int64)
        infection = what[0] == "infection"

        def fire(_t, element):
            node = element[0] if kind == "edge" else element
            self.changeCompartment(node, target)
            self._tallies += tallies
            self._infections += infection
            self.events += 1

        return fire

    def _snapshot(self, _t, i):
        self._state[i] = self._counts
        self._cumulative[i] = (self._infections, *self._tallies)

    def initialCompartments(self):  # noqa: N802 (epydemic's name)
        """Exactly ``x0[c]`` nodes in each compartment, chosen at random."""
        nodes = list(self.network().nodes())
        if nodes != list(range(len(nodes))):
            raise ValueError("network nodes must be 0 .. n - 1")
        order = epydemic.rng.permutation(len(nodes))
        for cid, start, stop in zip(self._ids, np.cumsum(self._x0) - self._x0, np.cumsum(self._x0)):
            for i in order[start:stop]:
                self.changeCompartment(nodes[i], cid)

    def changeCompartment(self, n, c):  # noqa: N802
        """As epydemic's, plus a plain list of compartments and the counts per compartment."""
        old = self.node_compartment[n]
        if old is not None:
            self._counts[self._index[old]] -= 1
            self._callLeaveHandlers(n, old)
        self.node_compartment[n] = c
        self.network().nodes[n][self.COMPARTMENT] = c
        self._counts[self._index[c]] += 1
        self._callEnterHandlers(n, c)

    def results(self):
        """State at every output time, cumulative infections and tallies, event count."""
        return {"state": self._state, "cumulative": self._cumulative, "events": self.events}


class _OneNetwork(NetworkGenerator):
    def __init__(self, graph):
        super().__init__()
        self._graph = graph

    def topology(self):
        return "healthmob"

    def _generate(self, params):
        return self._graph


def build_graph(edges: np.ndarray, n_nodes: int) -> nx.Graph:
    """A networkx graph on nodes ``0 .. n_nodes - 1`` with the given edges."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n_nodes))
    graph.add_edges_from(map(tuple, np.asarray(edges).tolist()))
    return graph


def run_network_member(spec: ModelSpec, network_params: dict, seed_seq) -> dict:
    """Run one member: draw a network, then the epidemic on it (Gillespie).

    Parameters
    ----------
    spec : ModelSpec
        Disease model.
    network_params : dict
        ``type`` (a key of :data:`healthmob.netgen.NETWORK_TYPES`) and its parameters,
        ``n_nodes``, ``times`` (output days; the last is the maximum time), ``x0`` (persons
        per compartment, summing to ``n_nodes``), ``overrides`` (parameters in base units)
        and ``contact_scaling``.
    seed_seq : numpy.random.SeedSequence
        The member's seed: child 0 draws the network, child 1 seeds epydemic's generator.
        Nothing else is random, so the result depends on ``seed_seq`` only.

    Returns
    -------
    dict
        ``state (n_t, C')`` persons per compartment (``C' = C`` or ``C + 1`` with
        ``dead``), ``cumulative (n_t, 1 + n_tally)`` cumulative infections then tallied
        events, ``degree`` statistics, ``events`` (stochastic events), ``seconds``.
    """
    t0 = time.perf_counter()
    p = network_params
    compiled = compile_model(spec, 1, p.get("overrides") or {})
    entropy, key = seed_seq.entropy, tuple(seed_seq.spawn_key)
    net_seq = np.random.SeedSequence(entropy, spawn_key=key + (0,))
    sim_seq = np.random.SeedSequence(entropy, spawn_key=key + (1,))
    n_nodes = int(p["n_nodes"])
    edges = generate_edges(p["type"], n_nodes, p, np.random.default_rng(net_seq))
    stats = degree_statistics(edges, n_nodes)
    rates = per_contact_rates(compiled, stats["mean_degree"], p.get("contact_scaling",
                                                                   "mean_degree"))
    process = SpecModel(compiled, rates, p["x0"], p["times"])
    saved = epydemic.rng.bit_generator.state, random.getstate()
    epydemic.rng.bit_generator.state = np.random.PCG64(sim_seq).state
    random.seed(int(sim_seq.generate_state(1)[0]))
    try:
        dynamics = StochasticDynamics(process, _OneNetwork(build_graph(edges, n_nodes)))
        result = dynamics.set({}).run(fatal=True)["results"]
    finally:
        epydemic.rng.bit_generator.state = saved[0]
        random.setstate(saved[1])
    return {"state": result["state"], "cumulative": result["cumulative"],
            "compartments": process.compartment_ids, "degree": stats,
            "degree_counts": np.bincount(degrees_of(edges, n_nodes)),
            "per_contact": rates, "events": result["events"],
            "seconds": time.perf_counter() - t0}


__all__ = ["SpecModel", "build_graph", "run_network_member"]
