"""Benchmark and check the world mobility against counts and published figures (not a test).

Prints, for the default world (``[mobility] layers = air, land, migration, return``,
reference year 2019):

1. Times (median of ``--repeat``): the world air table from the raw 67,663 OpenFlights
   routes (target 5 s), a travel-time matrix for 3,000 places and 30,000 corridors (target
   10 s, 1 GB), and building the four world layers (target 10 s).
2. Per destination, modelled arrivals by air and by land / UN Tourism 2019 overnight
   arrivals: median and 90 % range of the ratio over the reporting countries, and the
   leave-one-out error of the imputation used where a country does not report.
3. The land flow on every pair with a closure in force or a fortified border (typology 5)
   with a visa requirement, against the former gravity model (sqrt(N_i N_j) exp(-d / 1000
   km) scaled to 1.1e9 crossings a year, recomputed here on the same pairs).
4. Pairs with a published count (air and land visitors by country of residence, migrant
   inflows): model / published.
5. With ``--run RUN_DIR``: the top 50 corridors of a run's ``top_corridors.csv`` with their
   volume source (the plausibility judgement of each is in docs/plausibility.md).

Run from the repository root::

    python benchmarks/bench_mobility.py [--data ../shared/data] [--repeat 5] [--run runs/world-...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LAYERS = ["air", "land", "migration", "return"]
DAYS = 365.25

#: (layer, origin, destination, persons a year, what and source); visits by country of
#: residence or migrant inflows. See docs/plausibility.md for the sources.
PUBLISHED = [
    ("air", "IND", "USA", 1.47e6, "NTTO 2019 arrivals from India"),
    ("air", "BRA", "USA", 2.1e6, "NTTO 2019 arrivals from Brazil"),
    ("air", "IND", "CAN", 261e3, "StatCan 2017 trips to Canada from India"),
    ("air", "CHN", "CAN", 665e3, "StatCan 2017 trips to Canada from China"),
    ("air", "GBR", "CAN", 780e3, "StatCan 2017 trips to Canada from the UK"),
    ("air", "IND", "GBR", 603e3, "ONS Jan-Sep 2019 visits from India (452,000) x 4/3"),
    ("land", "MEX", "USA", 15.7e6, "US Travel Association 2018: 18.5 M overnight, 85 % by land"),
    ("land", "CAN", "USA", 11.5e6, "StatCan Jan-Oct 2018: 9.62 M overnight car returns x 1.2"),
    ("land", "USA", "CAN", 8.6e6, "StatCan Jan-Oct 2018: 7.19 M overnight car trips x 1.2"),
    ("land", "MOZ", "ZAF", 1.33e6, "Stats SA 2019: ~111,000 tourists a month from Mozambique"),
    ("land", "LSO", "ZAF", 1.45e6, "Stats SA Aug 2019: 120,510 tourists from Lesotho x 12"),
    ("migration", "MEX", "USA", 153_502, "DHS FY2019 new permanent residents (Mexico)"),
    ("migration", "IND", "CAN", 85_593, "IRCC 2019 permanent residents, India"),
    ("migration", "CHN", "CAN", 30_246, "IRCC 2019 permanent residents, China"),
    ("migration", "PHL", "CAN", 27_818, "IRCC 2019 permanent residents, Philippines"),
]
#: (destination, persons a year, what): total migrant inflows
INFLOWS = [
    ("USA", 1_031_765, "DHS FY2019 new permanent residents (56 % already in the US)"),
    ("CAN", 341_180, "IRCC 2019 permanent residents"),
    ("GBR", 600_000, "ONS 2019 (IPS): 404,000 non-EU + 196,000 EU citizens"),
    ("DEU", 1_346_000, "Destatis 2019 arrivals of foreign nationals"),
]


def median_seconds(func, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``func``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def world_air_table(data: Path):
    """Raw OpenFlights files -> ``air.csv``'s directed country pairs."""
    from healthmob.geobuild.layers import (
        airport_country_iso3,
        build_air_layer,
        with_missing_airports,
    )
    from healthmob.geobuild.readers import read_airports, read_openflights_countries, read_routes

    places = world_places()
    routes = read_routes(data / "openflights" / "routes.dat")
    airports = with_missing_airports(read_airports(data / "openflights" / "airports.dat"))
    countries = read_openflights_countries(data / "openflights" / "countries.dat")
    iso3 = airport_country_iso3(countries, places.set_index("id")["iso2"])
    air = build_air_layer(routes, airports, iso3)
    assert len(routes) == 67663 and len(air) > 4000
    return air


def world_places() -> pd.DataFrame:
    from healthmob.mobility.places import read_table
    from healthmob.store.resources import data_dir

    return read_table(data_dir("geo") / "places.csv")


def travel_time_matrix(n_places: int = 3000, n_corridors: int = 30000, seed: int = 3):
    """All-pairs fastest travel time (days) and route length (km) of a random graph."""
    from healthmob.mobility.edges import geodesic_km
    from healthmob.mobility.travel_time import (
        DEFAULT_MODES,
        build_graph,
        edge_time_days,
        shortest_routes,
    )

    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n_places)))
    lon = rng.uniform(-180, 180, n_places)
    o = rng.integers(0, n_places, n_corridors)
    d = (o + rng.integers(1, n_places, n_corridors)) % n_places
    km = geodesic_km(lon[o], lat[o], lon[d], lat[d])
    air = rng.random(n_corridors) < 0.5
    mode = {k: np.where(air, DEFAULT_MODES["air"][k], DEFAULT_MODES["land"][k])
            for k in ("speed_kmh", "overhead_hours")}
    graph = build_graph(n_places, o, d, edge_time_days(km, mode["speed_kmh"],
                                                       mode["overhead_hours"]), km)
    time_days, _ = shortest_routes(graph)
    assert time_days.shape == (n_places, n_places)


def memory_of_travel_time_matrix() -> dict:
    """Peak resident memory (VmHWM) of one travel-time matrix, in a fresh interpreter."""
    code = ("import bench_mobility as b, json\n"
            "b.travel_time_matrix()\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
            "print(json.dumps({'peak_rss_mb': int(hwm.split()[1]) / 1024}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def world_mobility():
    from healthmob.mobility.build import build_mobility

    return build_mobility(world_places(), {"layers": LAYERS})


def travel_fit():
    from healthmob.mobility.config import mobility_config
    from healthmob.mobility.travel import fit_travel
    from healthmob.mobility.world import read_world_table

    tables = {t: read_world_table(t) for t in ("air", "land", "tourism", "visas")}
    return fit_travel(world_places(), tables, mobility_config({"layers": ["air", "land"]}))


def print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"\n## {title}\n")
    print(frame.to_string(index=False))


def margin_ratios(mobility, fit) -> pd.DataFrame:
    """Median and 90 % range of modelled / counted arrivals by mode over reporting places."""
    rows = []
    for k, mode in enumerate(("air", "land")):
        arrivals = np.asarray(mobility.layers[mode].flow.sum(axis=0)).ravel()
        counted = (fit.margins.source[mode] == "counted") & (fit.margins.values[mode] > 0)
        ratio = arrivals[counted] / fit.margins.values[mode][counted]
        lo, mid, hi = np.quantile(ratio, [0.05, 0.5, 0.95])
        within = np.mean(np.abs(ratio - 1) <= 0.35)
        rows.append((mode, counted.sum(), f"{mid:.3f}", f"{lo:.3f}-{hi:.3f}",
                     f"{within:.0%}", int((ratio < 0.5).sum())))
    return pd.DataFrame(rows, columns=["mode", "reporting", "median ratio", "90% range",
                                       "within 35%", "below 0.5"])


def imputation_errors(fit) -> pd.DataFrame:
    rows = [(key, e["n"], f"{e['median_factor']:.2f}", f"{e['p90_factor']:.2f}",
             int((fit.margins.source[key] == "imputed").sum()))
            for key, e in fit.margins.errors.items()]
    return pd.DataFrame(rows, columns=["margin", "countries with a count",
                                       "LOO median factor", "LOO 90th pct factor",
                                       "places imputed"])


def restricted_pairs(mobility, fit) -> pd.DataFrame:
    """Closures in force and typology-5 + visa borders: flow now and under the former model."""
    from healthmob.mobility.world import read_world_table

    land, places = read_world_table("land"), world_places()
    population = places.set_index("id")["population"].astype(float)
    former = (np.sqrt(population[land["origin"]].to_numpy()
                      * population[land["destination"]].to_numpy())
              * np.exp(-land["distance_km"].to_numpy() / 1000.0))
    former *= 1.1e9 / DAYS / former.sum()
    status = fit.status
    picked = (status["status"] == "closed") | ((land["typology"] == 5)
                                               & land["visa"].isin(["required"])).to_numpy()
    rows = []
    for k in np.flatnonzero(picked):
        o, d = land["origin"].iat[k], land["destination"].iat[k]
        now = mobility.layers["land"].flow[mobility.index(o), mobility.index(d)]
        rows.append((f"{o}->{d}", status["status"].iat[k], f"{former[k]:,.0f}",
                     f"{now:,.1f}", f"{now / former[k]:.2%}", status["reason"].iat[k][:60]))
    return pd.DataFrame(rows, columns=["pair", "status", "former /day", "now /day",
                                       "now/former", "why"])


def published_pairs(mobility) -> pd.DataFrame:
    rows = []
    for layer, o, d, count, what in PUBLISHED:
        model = mobility.layers[layer].flow[mobility.index(o), mobility.index(d)] * DAYS
        rows.append((layer, f"{o}->{d}", f"{model:,.0f}", f"{count:,.0f}",
                     f"{model / count:.2f}", what))
    for d, count, what in INFLOWS:
        model = mobility.layers["migration"].flow[:, [mobility.index(d)]].sum() * DAYS
        rows.append(("migration", f"all->{d}", f"{model:,.0f}", f"{count:,.0f}",
                     f"{model / count:.2f}", what))
    return pd.DataFrame(rows, columns=["layer", "pair", "model /year", "published /year",
                                       "ratio", "published figure"])


def top_corridors(run: Path) -> pd.DataFrame:
    table = pd.read_csv(run / "top_corridors.csv", keep_default_na=False, na_values=[""])
    columns = ["rank", "origin", "destination", "layer", "flow_per_year", "volume_source",
               "arrives_as", "tb_active_per_year", "tb_latent_recent_per_year",
               "hiv_in_window_per_year"]
    return table[[c for c in columns if c in table]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"raw data folder (default {DEFAULT_DATA})")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--run", type=Path, help="a world run folder (top corridors)")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    rows = []
    if (args.data / "openflights" / "routes.dat").is_file():
        t = median_seconds(lambda: world_air_table(args.data), args.repeat)
        rows.append(("air.csv from 67,663 OpenFlights routes", t, 5.0))
    t = median_seconds(travel_time_matrix, args.repeat)
    rows.append(("travel-time matrix N=3,000, 30,000 corridors", t, 10.0))
    t = median_seconds(world_mobility, args.repeat)
    rows.append(("world layers air, land, migration, return", t, 10.0))
    timing = pd.DataFrame([(name, f"{s:.2f} s", f"{target:g} s", f"{s / target:.2f}")
                           for name, s, target in rows],
                          columns=["task", "median", "target", "ratio"])
    memory = memory_of_travel_time_matrix()
    print_table(f"Times (median of {args.repeat}; travel-time matrix peak memory "
                f"{memory['peak_rss_mb']:.0f} MB of 1024)", timing)
    mobility, fit = world_mobility(), travel_fit()
    print_table("Arrivals by mode, model / UN Tourism 2019 (reporting destinations)",
                margin_ratios(mobility, fit))
    print_table("Imputation of travel totals: leave-one-out error", imputation_errors(fit))
    print_table("Closed borders and fortified borders with a visa requirement",
                restricted_pairs(mobility, fit))
    print_table("Published figures", published_pairs(mobility))
    if args.run:
        print_table(f"Top corridors of {args.run.name}", top_corridors(args.run))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
