"""Benchmark the mobility stage against the targets of issue #3 (not a timed test).

1. World air layer from the raw 67,663 OpenFlights routes: parse routes and airports,
   aggregate to country pairs (``healthmob.geobuild.layers.build_air_layer``), volumes from route
   counts, travel times over the air graph -> a MobilityLayer. Target <= 5 s.
2. Travel-time matrix for N = 3,000 places and 30,000 random corridors: all-pairs fastest
   travel time (Dijkstra) plus the length of every fastest route. Target <= 10 s and
   <= 1 GB of memory (peak measured in a fresh subprocess: the resident-set high-water
   mark VmHWM, and tracemalloc's peak of the Python/numpy allocations).
3. For information: the whole world mobility (air, land, migration from geo/) and writing
   mobility.nc + corridors.gpkg.

Each time is the median of ``--repeat`` runs (default 5). Run from the repository root::

    python benchmarks/bench_mobility.py [--data ../shared/data] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def median_seconds(func, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``func``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def world_air_layer(data: Path):
    """Raw OpenFlights files -> the world air MobilityLayer (geo/places.csv gives places)."""
    from healthmob.geobuild.layers import airport_country_iso3, build_air_layer
    from healthmob.geobuild.readers import read_airports, read_openflights_countries, read_routes
    from healthmob.mobility.build import assemble_layer
    from healthmob.mobility.config import mobility_config
    from healthmob.mobility.edges import Edges
    from healthmob.mobility.places import read_table
    from healthmob.mobility.travel_time import DEFAULT_MODES, edge_time_days
    from healthmob.mobility.world import air_volumes
    from healthmob.store.resources import data_dir

    places = read_table(data_dir("geo") / "places.csv")
    routes = read_routes(data / "openflights" / "routes.dat")
    airports = read_airports(data / "openflights" / "airports.dat")
    countries = read_openflights_countries(data / "openflights" / "countries.dat")
    iso3 = airport_country_iso3(countries, places.set_index("id")["iso2"])
    air = build_air_layer(routes, airports, iso3)
    position = {pid: k for k, pid in enumerate(places["id"])}
    origin = air["origin"].map(position).to_numpy()
    destination = air["destination"].map(position).to_numpy()
    population = places["population"].to_numpy(float)
    cfg = mobility_config({}).layer("air")
    volumes, text = air_volumes(air["n_routes"].to_numpy(), population[origin],
                                population[destination], cfg)
    mode = DEFAULT_MODES["air"]
    distance = air["distance_km"].to_numpy(float)
    edges = Edges("air", origin, destination, volumes,
                  edge_time_days(distance, mode["speed_kmh"], mode["overhead_hours"]),
                  distance, "air", "openflights", description=text)
    layer = assemble_layer("air", [edges], [edges], cfg, len(places))
    assert len(routes) == 67663 and layer.flow.nnz > 3000
    return layer


def random_graph(n_places: int, n_corridors: int, seed: int = 3):
    """Random places on the sphere and corridors between random pairs (air or land)."""
    from healthmob.mobility.edges import geodesic_km
    from healthmob.mobility.travel_time import DEFAULT_MODES, build_graph, edge_time_days

    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n_places)))
    lon = rng.uniform(-180, 180, n_places)
    o = rng.integers(0, n_places, n_corridors)
    d = (o + rng.integers(1, n_places, n_corridors)) % n_places
    km = geodesic_km(lon[o], lat[o], lon[d], lat[d])
    air = rng.random(n_corridors) < 0.5
    speed = np.where(air, DEFAULT_MODES["air"]["speed_kmh"], DEFAULT_MODES["land"]["speed_kmh"])
    overhead = np.where(air, DEFAULT_MODES["air"]["overhead_hours"],
                        DEFAULT_MODES["land"]["overhead_hours"])
    return build_graph(n_places, o, d, edge_time_days(km, speed, overhead), km)


def travel_time_matrix(n_places: int = 3000, n_corridors: int = 30000):
    """All-pairs fastest travel time (days) and route length (km)."""
    from healthmob.mobility.travel_time import shortest_routes

    graph = random_graph(n_places, n_corridors)
    time_days, length_km = shortest_routes(graph)
    assert time_days.shape == (n_places, n_places)
    return time_days, length_km


def memory_of_travel_time_matrix() -> dict:
    """Peak memory of one travel-time matrix, measured in a fresh interpreter.

    ``VmHWM`` (Linux /proc high-water mark of the resident set) belongs to the new process
    image, unlike ``ru_maxrss``, which a child started by fork + exec inherits from a parent
    that has already allocated a lot.
    """
    code = (
        "import json, tracemalloc\n"
        "import bench_mobility as b\n"
        "import numpy, scipy.sparse.csgraph, pyproj\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "base = hwm()\n"
        "tracemalloc.start()\n"
        "b.travel_time_matrix()\n"
        "peak = tracemalloc.get_traced_memory()[1]\n"
        "print(json.dumps({'peak_rss_mb': hwm(), 'import_rss_mb': base,"
        " 'tracemalloc_peak_mb': peak / 2**20}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent)  # finds bench_mobility
    return json.loads(out.stdout.strip().splitlines()[-1])


def world_mobility_and_outputs():
    from healthmob.mobility.build import build_mobility
    from healthmob.mobility.files import write_mobility
    from healthmob.mobility.places import read_table
    from healthmob.store.resources import data_dir

    places = read_table(data_dir("geo") / "places.csv")
    mobility = build_mobility(places, {"layers": ["air", "land", "migration"]})
    with tempfile.TemporaryDirectory() as tmp:
        write_mobility(mobility, places, Path(tmp))
    return mobility


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"raw data folder (default {DEFAULT_DATA})")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not (args.data / "openflights" / "routes.dat").is_file():
        parser.error(f"{args.data}: no openflights/routes.dat; pass --data")
    rows = []
    t = median_seconds(lambda: world_air_layer(args.data), args.repeat)
    rows.append(("world air layer from 67,663 routes", f"{t:.3f} s", "5 s", t / 5.0))
    t = median_seconds(travel_time_matrix, args.repeat)
    rows.append(("travel-time matrix N=3,000, 30,000 corridors", f"{t:.3f} s", "10 s",
                 t / 10.0))
    memory = memory_of_travel_time_matrix()
    rows.append(("  peak memory (VmHWM, whole process)", f"{memory['peak_rss_mb']:.0f} MB",
                 "1024 MB", memory["peak_rss_mb"] / 1024))
    rows.append(("  peak memory (tracemalloc, allocations)",
                 f"{memory['tracemalloc_peak_mb']:.0f} MB", "1024 MB",
                 memory["tracemalloc_peak_mb"] / 1024))
    t = median_seconds(world_mobility_and_outputs, args.repeat)
    rows.append(("world mobility (3 layers) + write outputs", f"{t:.3f} s", "-", float("nan")))
    width = max(len(r[0]) for r in rows)
    print(f"{'task':<{width}}  {'median':>10}  {'target':>8}  {'ratio':>6}")
    for name, value, target, ratio in rows:
        shown = "" if ratio != ratio else f"{ratio:.3f}"
        print(f"{name:<{width}}  {value:>10}  {target:>8}  {shown:>6}")
    print(f"(median of {args.repeat} runs; interpreter + imports alone: "
          f"{memory['import_rss_mb']:.0f} MB VmHWM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
