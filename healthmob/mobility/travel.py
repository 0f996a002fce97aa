"""Air and land travel of the embedded world, fitted together to counted travel totals.

The flows of both modes over all world places are one doubly-constrained model
(:func:`healthmob.mobility.fitting.fit_to_margins`): each destination's overnight-visitor
arrivals by air and by land (:mod:`.margins`, UN Tourism in the reference year, imputed
where not reported) and each counted origin's departures; an origin that reports no
departures sends travellers with the median propensity of the counted ones
(:func:`~healthmob.mobility.fitting.fit_to_margins`), so its imputed departures are a check,
not a constraint. Pair weights:

air
    Connectivity of the route network with one-stop itineraries (:mod:`.connections`):
    direct OpenFlights routes (June 2014) plus ``connection_weight`` x the two-step routes
    through hubs, times the visa factor of the pair (:func:`.borders.visa_factor`); the
    travel time is that of the fastest itinerary, connection included.
land
    Gravity between population centres of land neighbours (``[mobility.land]`` kernel and
    exponents) times the border's permeability (:mod:`.borders`). Counted and restricted
    borders carry fixed volumes that are not fitted: the margins are net of them.

Flows are computed over the whole world, so that choosing a subset of places for a run does
not change any pair's flow; ``geo/MOBILITY.md`` compares them with published figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .borders import border_status, visa_factor
from .config import MobilityConfig
from .connections import one_stop_itineraries
from .edges import Edges
from .fitting import FitReport, fit_to_margins
from .flow_models import gravity_weights
from .margins import Margins, build_margins
from .matrix import VOLUME_SOURCES
from .travel_time import edge_time_days

MODES = ("air", "land")


def code(name: str) -> int:
    """The ``volume_source`` code of a flag name."""
    return VOLUME_SOURCES.index(name) + 1


@dataclass(frozen=True)
class TravelFit:
    """The world's fitted air and land flows and what they were fitted to.

    Attributes
    ----------
    edges : dict of str to Edges
        ``air`` and ``land`` over world place indices (persons/day).
    margins : Margins
    report : FitReport
        Fitted / target margins (modes in :data:`MODES` order).
    status : DataFrame
        :func:`.borders.border_status` of every land pair.
    """

    edges: dict
    margins: Margins
    report: FitReport
    status: pd.DataFrame


def fit_travel(world: pd.DataFrame, tables: dict, config: MobilityConfig,
               user_margins: pd.DataFrame | None = None) -> TravelFit:
    """Air and land flows between all world places (module docstring).

    Parameters
    ----------
    world : DataFrame
        ``geo/places.csv`` (``id``, ``population``, ``lat``, ``lon``, ``who_region``, ...).
    tables : dict of str to DataFrame
        ``air``, ``land``, ``tourism``, ``visas`` of ``geo/``.
    config : MobilityConfig
        ``reference_year``, ``[mobility.air]``, ``[mobility.land]``, modes.
    user_margins : DataFrame, optional
        The ``[mobility] margins`` table.
    """
    n = len(world)
    position = pd.Series(np.arange(n), index=world["id"].to_numpy())
    year = config.reference_year
    margins = build_margins(world, tables["tourism"], tables["air"], tables["land"], year,
                            user_margins)
    air = _air_pairs(tables["air"], tables["visas"], position, config)
    land, status = _land_pairs(tables["land"], position, world, config)
    fixed = status["fixed_per_day"].to_numpy(dtype=float)
    arrivals = np.vstack([margins.values[m] for m in MODES])
    arrivals[1] = np.maximum(arrivals[1] - np.bincount(land["destination"], fixed,
                                                       minlength=n), 0.0)
    departures = np.where(margins.source["departures"] == "imputed", np.nan,
                          margins.values["departures"])
    departures = np.maximum(departures - np.bincount(land["origin"], fixed, minlength=n), 0.0)
    fitted = status["status"].eq("open").to_numpy()
    mode = np.r_[np.zeros(len(air["origin"]), dtype=int), np.ones(fitted.sum(), dtype=int)]
    flow, report = fit_to_margins(
        mode, np.r_[air["origin"], land["origin"][fitted]],
        np.r_[air["destination"], land["destination"][fitted]],
        np.r_[air["weight"], land["weight"][fitted]], arrivals, departures)
    land_flow = fixed.copy()
    land_flow[fitted] = flow[len(air["origin"]):]
    edges = {
        "air": _edges("air", air, flow[:len(air["origin"])],
                      _fitted_code(margins, "air", air["destination"]), year, margins),
        "land": _edges("land", land, land_flow,
                       _land_codes(status, margins, land["destination"]), year, margins),
    }
    return TravelFit(edges, margins, report, status)


def _air_pairs(air: pd.DataFrame, visas: pd.DataFrame, position: pd.Series,
               config: MobilityConfig) -> dict:
    mode = config.all_modes()["air"]
    time = edge_time_days(air["distance_km"].to_numpy(), mode.speed_kmh, mode.overhead_hours)
    direct_rows = pd.Series(np.arange(1, len(air) + 1),
                            index=pd.MultiIndex.from_arrays([air["origin"], air["destination"]]))
    it = one_stop_itineraries(len(position), position[air["origin"]].to_numpy(),
                              position[air["destination"]].to_numpy(),
                              air["n_routes"].to_numpy(dtype=float), time,
                              air["distance_km"].to_numpy(dtype=float))
    ids = position.index.to_numpy()
    pairs = pd.MultiIndex.from_arrays([ids[it.origin], ids[it.destination]])
    rows = direct_rows.reindex(pairs)
    visa = visas.set_index(["origin", "destination"])["visa"].reindex(pairs).fillna("")
    factor = visa_factor(visa.to_numpy(dtype=str), config.visa_required,
                         config.visa_on_arrival)
    return {"origin": it.origin, "destination": it.destination,
            "weight": it.connectivity(config.layer("air").connection_weight) * factor,
            "time": it.time_days, "distance": it.distance_km,
            "rows": rows.fillna(0).to_numpy(dtype=int),
            "connections": int((it.direct == 0).sum())}


def _land_pairs(land: pd.DataFrame, position: pd.Series, world: pd.DataFrame,
                config: MobilityConfig) -> tuple[dict, pd.DataFrame]:
    cfg, mode = config.layer("land"), config.all_modes()["land"]
    status = border_status(land, cfg, config.reference_year,
                           (config.visa_required, config.visa_on_arrival))
    origin = position[land["origin"]].to_numpy()
    destination = position[land["destination"]].to_numpy()
    population = world["population"].to_numpy(dtype=float)
    distance = land["distance_km"].to_numpy(dtype=float)
    weight = gravity_weights(population[origin], population[destination],
                             np.maximum(distance, 1e-3), kernel=cfg.kernel,
                             exponent_origin=cfg.exponent_origin,
                             exponent_destination=cfg.exponent_destination,
                             exponent_distance=cfg.exponent_distance, scale_km=cfg.scale_km)
    pairs = {"origin": origin, "destination": destination,
             "weight": weight * status["permeability"].to_numpy(dtype=float),
             "time": edge_time_days(distance, mode.speed_kmh, mode.overhead_hours),
             "distance": distance, "rows": np.arange(1, len(land) + 1)}
    return pairs, status


def _fitted_code(margins: Margins, key: str, destination: np.ndarray) -> np.ndarray:
    imputed = margins.source[key][destination] == "imputed"
    return np.where(imputed, code("imputed"), code("fitted_to_margins")).astype(np.int8)


def _land_codes(status: pd.DataFrame, margins: Margins, destination) -> np.ndarray:
    kind = status["status"].to_numpy()
    return np.select([kind == "counted", np.isin(kind, ("restricted", "closed"))],
                     [code("counted"), code("residual_closed_border")],
                     _fitted_code(margins, "land", destination)).astype(np.int8)


def _edges(name: str, pairs: dict, volume: np.ndarray, codes: np.ndarray, year: int,
           margins: Margins) -> Edges:
    counted = (margins.source[name] != "imputed").sum()
    text = (f"fitted to UN Tourism {year} overnight arrivals by {name} "
            f"({counted} destinations counted or given, the rest imputed) and departures; "
            + ("OpenFlights 2014 routes with one-stop connections" if name == "air" else
               "gravity between land neighbours times border permeability; counted and "
               "restricted borders fixed"))
    return Edges(layer=name, origin=pairs["origin"], destination=pairs["destination"],
                 volume_per_day=volume, time_days=pairs["time"],
                 distance_km=pairs["distance"], mode=name, source=f"geo/{name}.csv",
                 rows=pairs["rows"], description=text, volume_source=codes)
