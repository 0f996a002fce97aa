"""Benchmark of network epidemics and network generators (issue #7, point 6).

Run on demand, not in CI::

    /work/venv/bin/python benchmarks/bench_network.py [--repeats 3] [--sizes 1000 5000 20000]
                                                      [--plc 1000]

Prints two tables, medians over repeats (the machine is shared: compare ratios):

1. Gillespie (epydemic ``StochasticDynamics``) events per second for SIR (beta 0.5/day,
   recovery 0.25/day, 1% infected at the start, to the end of the epidemic) on Erdős–Rényi
   networks of mean degree 10: epydemic's own ``SIR`` model (balanced-tree loci) and
   healthmob's spec-built model (O(1) loci), with the seconds per run (network excluded).
2. Network generation: healthmob's numpy generators against networkx (``fast_gnp_random_graph``;
   ``configuration_model`` + simple graph) and, with ``--plc N``, epydemic's ``PLCNetwork``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import epydemic  # noqa: TID251 (benchmarks epydemic's own model)
import networkx as nx
import numpy as np

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.network import generators as netgen
from healthmob.network.fit import per_contact_rates
from healthmob.network.process import SpecModel, _OneNetwork, build_graph
from healthmob.network.run import initial_state

MEAN_DEGREE = 10.0
MAX_TIME = 1000.0


def stock_sir(graph: nx.Graph, per_contact: float, seed: int) -> tuple[int, float]:
    """epydemic.SIR under StochasticDynamics: (events, seconds)."""
    epydemic.rng.bit_generator.state = np.random.PCG64(seed).state
    model = epydemic.SIR()
    model.setMaximumTime(MAX_TIME)
    dynamics = epydemic.StochasticDynamics(model, _OneNetwork(graph.copy()))
    params = {epydemic.SIR.P_INFECTED: 0.01, epydemic.SIR.P_INFECT: per_contact,
              epydemic.SIR.P_REMOVE: 0.25}
    t0 = time.perf_counter()
    result = dynamics.set(params).run(fatal=True)
    return result["metadata"][epydemic.Dynamics.EVENTS], time.perf_counter() - t0


def spec_sir(graph: nx.Graph, per_contact: float, seed: int) -> tuple[int, float]:
    """healthmob's spec-built SIR under StochasticDynamics: (events, seconds)."""
    epydemic.rng.bit_generator.state = np.random.PCG64(seed).state
    spec = load_model("sir")
    n = graph.number_of_nodes()
    process = SpecModel(compile_model(spec), [per_contact], initial_state(spec, n, n // 100),
                        np.array([0.0, MAX_TIME]))
    dynamics = epydemic.StochasticDynamics(process, _OneNetwork(graph.copy()))
    t0 = time.perf_counter()
    result = dynamics.set({}).run(fatal=True)
    return result["results"]["events"], time.perf_counter() - t0


def events_table(sizes: list[int], repeats: int) -> None:
    print(f"Gillespie SIR on Erdos-Renyi networks, mean degree {MEAN_DEGREE:g}, "
          f"median of {repeats}")
    print(f"{'nodes':>7} {'edges':>8} | {'epydemic SIR ev/s':>17} {'s/run':>7} | "
          f"{'healthmob ev/s':>14} {'s/run':>7} | {'speed-up':>8}")
    model = compile_model(load_model("sir"))
    for n in sizes:
        rng = np.random.default_rng(n)
        rows = {"stock": [], "spec": []}
        n_edges = 0
        for r in range(repeats):
            edges = netgen.erdos_renyi_edges(n, MEAN_DEGREE, rng)
            n_edges = len(edges)
            graph = build_graph(edges, n)
            tau = float(per_contact_rates(model, 2 * n_edges / n)[0])
            rows["stock"].append(stock_sir(graph, tau, r))
            rows["spec"].append(spec_sir(graph, tau, r))
        rates = {k: statistics.median(e / s for e, s in v) for k, v in rows.items()}
        secs = {k: statistics.median(s for _, s in v) for k, v in rows.items()}
        print(f"{n:>7} {n_edges:>8} | {rates['stock']:>17,.0f} {secs['stock']:>7.2f} | "
              f"{rates['spec']:>14,.0f} {secs['spec']:>7.2f} | "
              f"{rates['spec'] / rates['stock']:>7.1f}x")


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        fn(r)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def generator_table(sizes: list[int], repeats: int, plc: int) -> None:
    print(f"\nNetwork generation (seconds, median of {repeats}; healthmob returns edge arrays, "
          "networkx graphs)")
    print(f"{'nodes':>7} | {'ER numpy':>9} {'ER nx':>9} | {'config numpy':>12} "
          f"{'config nx':>10} | {'household numpy':>15}")
    for n in sizes:
        degrees = netgen.power_law_degrees(n, 2.5, 60.0, 3, 0, np.random.default_rng(0))

        def nx_config(r, degrees=degrees):
            graph = nx.Graph(nx.configuration_model(degrees.tolist(), seed=r))
            graph.remove_edges_from(nx.selfloop_edges(graph))

        cells = [
            _median_seconds(lambda r: netgen.erdos_renyi_edges(
                n, MEAN_DEGREE, np.random.default_rng(r)), repeats),
            _median_seconds(lambda r: nx.fast_gnp_random_graph(
                n, MEAN_DEGREE / (n - 1), seed=r), repeats),
            _median_seconds(lambda r: netgen.configuration_edges(
                netgen.power_law_degrees(n, 2.5, 60.0, 3, 0, np.random.default_rng(r)),
                np.random.default_rng(r)), repeats),
            _median_seconds(nx_config, repeats),
            _median_seconds(lambda r: netgen.household_edges(
                n, 4.0, 4.0, np.random.default_rng(r)), repeats),
        ]
        print(f"{n:>7} | {cells[0]:>9.4f} {cells[1]:>9.4f} | {cells[2]:>12.4f} "
              f"{cells[3]:>10.4f} | {cells[4]:>15.4f}")
    if plc:
        random.seed(0)
        t0 = time.perf_counter()
        epydemic.PLCNetwork({epydemic.PLCNetwork.N: plc, epydemic.PLCNetwork.EXPONENT: 2.5,
                             epydemic.PLCNetwork.CUTOFF: 60}).generate()
        print(f"epydemic PLCNetwork, {plc} nodes (exponent 2.5, cutoff 60): "
              f"{time.perf_counter() - t0:.2f} s (one run)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--plc", type=int, default=0,
                        help="also time epydemic's PLCNetwork with this many nodes")
    args = parser.parse_args(argv)
    events_table(args.sizes, args.repeats)
    generator_table(args.sizes, args.repeats, args.plc)


if __name__ == "__main__":
    main()
