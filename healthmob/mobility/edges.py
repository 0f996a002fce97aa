"""Corridor edges of one layer, and the volumes the flow models give them.

:class:`Edges` is the common currency between the sources of corridors (world tables in
``geo/``, user corridor files) and :func:`healthmob.mobility.build.build_mobility`: place indices,
volumes (persons/day; NaN where a flow model must supply them), travel times (days) and
lengths (km). Geodesic lengths use pyproj's WGS84 ellipsoid, never planar degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..units import DAYS_PER_YEAR
from . import flow_models
from .config import TOTAL_KEYS, LayerConfig


@dataclass
class Edges:
    """Corridors of one layer from one source.

    Attributes
    ----------
    layer : str
        Layer name.
    origin, destination : ndarray of int
        Place indices of the ends.
    volume_per_day : ndarray
        Persons per day origin -> destination; NaN where the layer's flow model supplies it.
    time_days : ndarray
        Travel time along the corridor (days).
    distance_km : ndarray
        Length of the corridor (km).
    mode : str
        Travel mode (``"mixed"`` when a corridor file mixes modes in one layer).
    source : str
        Where the corridors come from (file path), for messages.
    rows : ndarray of int
        Row of each corridor in the source, counted from 1, for messages.
    description : str
        How the volumes were obtained, written to outputs.
    volume_source : ndarray of int
        Code of each volume's origin (1-based into
        :data:`~healthmob.mobility.matrix.VOLUME_SOURCES`); empty: ``user_file`` where a
        volume is given, ``modelled`` where a flow model supplies it.
    """

    layer: str
    origin: np.ndarray
    destination: np.ndarray
    volume_per_day: np.ndarray
    time_days: np.ndarray
    distance_km: np.ndarray
    mode: str
    source: str
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    description: str = ""
    volume_source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))


def geodesic_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """WGS84 geodesic distance (km) between points given in degrees (vectorised)."""
    from pyproj import Geod  # only when a length is computed (fast start-up otherwise)

    _, _, metres = Geod(ellps="WGS84").inv(np.asarray(lon1, dtype=float),
                                           np.asarray(lat1, dtype=float),
                                           np.asarray(lon2, dtype=float),
                                           np.asarray(lat2, dtype=float))
    return np.asarray(metres, dtype=float) / 1000.0


def per_day(value: float, key: str) -> float:
    """Convert a ``*_per_day`` or ``*_per_year`` config value to per day."""
    return value / DAYS_PER_YEAR if key.endswith("_per_year") else value


def model_volumes(cfg: LayerConfig, label: str, population, lat, lon, origin, destination,
                  distance_km) -> tuple[np.ndarray, str]:
    """Volumes (persons/day) of corridors from the layer's flow model and normalisation.

    Parameters
    ----------
    cfg : LayerConfig
        The layer's settings: ``flow_model`` (gravity or radiation), kernel options, and one
        of ``total_per_day``, ``total_per_year`` (the modelled corridors sum to it) or
        ``trips_per_capita_per_day`` (each origin's corridors share ``rate x population``).
    label : str
        ``mobility.<layer>``, for messages.
    population, lat, lon : ndarray, shape (N,)
        Places (persons, degrees).
    origin, destination : ndarray of int
        The corridors to give volumes.
    distance_km : ndarray
        Corridor lengths (km) for the gravity kernel.

    Returns
    -------
    volumes : ndarray
        Persons per day per corridor.
    description : str
        The model and normalisation, for outputs.

    References
    ----------
    Simini et al. 2012 Nature 484:96; Masucci et al. 2013 Phys Rev E 88:022812.
    """
    flow_model = cfg.flow_model or "none"
    normalisation = cfg.normalisation()
    if flow_model == "none" or normalisation is None:
        raise ConfigError(f"{label}: flow_model must be gravity or radiation with one of "
                          f"{', '.join(TOTAL_KEYS)} to model missing volumes; got "
                          f"flow_model={flow_model!r}, normalisation "
                          f"{[normalisation[0]] if normalisation else []}")
    population = np.asarray(population, dtype=float)
    if flow_model == "gravity":
        weights = flow_models.gravity_weights(
            population[origin], population[destination], np.maximum(distance_km, 1e-3),
            kernel=cfg.kernel, exponent_origin=cfg.exponent_origin,
            exponent_destination=cfg.exponent_destination,
            exponent_distance=cfg.exponent_distance, scale_km=cfg.scale_km)
        text = (f"gravity ({cfg.kernel} kernel, exponents {cfg.exponent_origin}, "
                f"{cfg.exponent_destination}, "
                + (f"distance {cfg.exponent_distance}" if cfg.kernel == "power"
                   else f"scale {cfg.scale_km} km") + ")")
    else:
        weights = radiation_weights(population, lat, lon, origin, destination)
        text = "radiation (Simini 2012, finite-size correction of Masucci 2013)"
    key, value = normalisation
    if key == "trips_per_capita_per_day":
        outflow = value * population
        volumes = flow_models.constrain_outflows(weights, origin, outflow)
        text += f", each origin's corridors share {value:g} trips per person per day"
    else:
        volumes = flow_models.scale_to_total(weights, per_day(value, key))
        text += f", scaled to a total of {value:g} persons {key[6:].replace('_', ' ')}"
    return volumes, text


def radiation_weights(population, lat, lon, origin, destination) -> np.ndarray:
    """Radiation shares p_ij (finite-size corrected) at the given pairs.

    Distances from each distinct origin to every place are WGS84 geodesics between the
    places' points; ``s_ij`` counts every place, not only those joined by corridors.
    """
    origin = np.asarray(origin, dtype=np.intp)
    destination = np.asarray(destination, dtype=np.intp)
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    out = np.zeros(len(origin))
    for i in np.unique(origin):
        rows = np.flatnonzero(origin == i)
        distance = geodesic_km(np.full(len(lat), lon[i]), np.full(len(lat), lat[i]), lon, lat)
        shares = flow_models.radiation_shares(population, distance, int(i), finite_size=True)
        out[rows] = shares[destination[rows]]
    return out
