"""The mobility object: the boundary between geography and the numeric engines.

A :class:`Mobility` is an index of place ids plus, per layer, sparse matrices of flows
(persons/day), travel times (days) and distances (km). Engines read only ``flow`` and the
layer's coupling; geometry never crosses this boundary. Results are joined back to places by
id, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import DataError

COUPLINGS = ("relocation", "visiting")
VOLUME_SOURCES = ("counted", "fitted_to_margins", "imputed", "residual_closed_border",
                  "user_file", "modelled", "stock_change")
"""Where a corridor's volume comes from; code k + 1 in ``volume_source`` (0: no flow).

``counted``: a published crossing count. ``fitted_to_margins``: fitted to the destination's
counted (or user-given) arrivals. ``imputed``: fitted to an imputed margin.
``residual_closed_border``: the residual across a closed or restricted border.
``user_file``: a corridor file's volume. ``modelled``: a flow model scaled to a total.
``stock_change``: derived from UN DESA migrant stock changes."""
VOLUME_SOURCE_ATTRS = {"long_name": "where the corridor's volume comes from",
                       "flag_values": np.arange(len(VOLUME_SOURCES) + 1, dtype=np.int8),
                       "flag_meanings": " ".join(("no_flow", *VOLUME_SOURCES)),
                       "comment": "docs/mobility.md, section 'Where volumes come from'"}
"""CF flag attributes of a ``volume_source`` variable (``mobility.nc``, ``risk.nc``)."""


@dataclass(frozen=True)
class MobilityLayer:
    """One mobility layer (air, land, sea, migration or user-defined).

    Attributes
    ----------
    name : str
        Layer name.
    flow : scipy.sparse.csr_array
        Persons per day travelling from origin (row) to destination (column); zero diagonal.
    coupling : {"relocation", "visiting"}
        ``relocation``: travellers move with their disease state and stay. ``visiting``: round
        trips; travellers mix where they go and come back (GLEaM time-scale separation).
    stay_days : float
        Mean time a visitor spends at the destination (days); used by ``visiting`` only.
    travel_time : scipy.sparse.csr_array or None
        Shortest travel time origin -> destination over the corridor graph (days).
    distance : scipy.sparse.csr_array or None
        Geodesic length of that route (km).
    mode : str
        Travel mode of the layer's corridors (``air``, ``land``...); empty when unknown or
        mixed.
    description : str
        Where the volumes come from (data, assumption, flow model), written to outputs.
    volume_source : scipy.sparse.csr_array or None
        Code (1-based index into :data:`VOLUME_SOURCES`) of each flow's origin.
    """

    name: str
    flow: sp.csr_array
    coupling: str = "relocation"
    stay_days: float = 1.0
    travel_time: sp.csr_array | None = None
    distance: sp.csr_array | None = None
    mode: str = ""
    description: str = ""
    volume_source: sp.csr_array | None = None


@dataclass(frozen=True)
class Mobility:
    """Places and their mobility layers.

    Attributes
    ----------
    place_ids : tuple of str
        Place ids in matrix order (ISO3 codes for the embedded world).
    layers : dict of str to MobilityLayer
        The layers, by name.
    attrs : dict
        Provenance and options (e.g. ``effective_distance``), written to outputs.
    """

    place_ids: tuple[str, ...]
    layers: dict[str, MobilityLayer] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.place_ids)
        if len(set(self.place_ids)) != n:
            seen, dup = set(), set()
            for pid in self.place_ids:
                (dup if pid in seen else seen).add(pid)
            raise DataError(f"mobility: place ids must be unique; got duplicates {sorted(dup)}")
        for name, layer in self.layers.items():
            if layer.flow.shape != (n, n):
                raise DataError(
                    f"mobility layer {name!r}: flow must be {n} x {n}; got {layer.flow.shape}"
                )
            if layer.coupling not in COUPLINGS:
                raise DataError(
                    f"mobility layer {name!r}: coupling must be one of {COUPLINGS}; "
                    f"got {layer.coupling!r}"
                )
            data = layer.flow.data
            if data.size and (not np.all(np.isfinite(data)) or data.min() < 0):
                raise DataError(f"mobility layer {name!r}: flow must be finite and >= 0")
            if not (np.isfinite(layer.stay_days) and layer.stay_days > 0):
                raise DataError(f"mobility layer {name!r}: stay_days must be > 0; "
                                f"got {layer.stay_days!r}")
            for label in ("travel_time", "distance", "volume_source"):
                matrix = getattr(layer, label)
                if matrix is not None and matrix.shape != (n, n):
                    raise DataError(f"mobility layer {name!r}: {label} must be {n} x {n}; "
                                    f"got {matrix.shape}")

    @property
    def n_places(self) -> int:
        """Number of places."""
        return len(self.place_ids)

    def index(self, place_id: str) -> int:
        """Position of ``place_id`` in the matrices."""
        try:
            return self.place_ids.index(place_id)
        except ValueError:
            raise DataError(f"mobility: place id {place_id!r} is not among the places") from None

    def volume_sources(self, origin: np.ndarray, destination: np.ndarray) -> np.ndarray:
        """``(pair, layer)`` int8 source codes of the layers' flows from ``origin[p]`` to
        ``destination[p]`` (place indices; 0 where a layer has no flow)."""
        out = np.zeros((len(origin), len(self.layers)), dtype=np.int8)
        for k, layer in enumerate(self.layers.values()):
            if layer.volume_source is not None and len(origin):
                out[:, k] = np.asarray(layer.volume_source[origin, destination]).ravel()
        return out

    def combined_flow(self) -> sp.csr_array:
        """Sum of the flows (persons/day) of every layer, whatever its coupling."""
        n = self.n_places
        total = sp.csr_array((n, n))
        for layer in self.layers.values():
            total = total + layer.flow
        return sp.csr_array(total)

    def total_flow(self, coupling: str) -> sp.csr_array:
        """Sum of the flows (persons/day) of every layer with the given coupling."""
        n = self.n_places
        total = sp.csr_array((n, n))
        for layer in self.layers.values():
            if layer.coupling == coupling:
                total = total + layer.flow
        return sp.csr_array(total)
