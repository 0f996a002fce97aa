"""The look of the maps: palette, classes of the choropleth, projection, line colours.

Shared by ``risk_map.png`` (:mod:`.figure`) and the report's SVG map (:mod:`.svgmap`), so
that both read alike.
"""

from __future__ import annotations

import numpy as np

FIXED_BREAKS = [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
"""The choropleth's classes, the same decades for every measure and run so that two maps
compare (a value is a count per year, or per 100,000 population per year)."""
# ColorBrewer YlOrRd (Brewer, Harrower & Penn State, Apache 2.0), by number of classes
YLORRD = {1: ["#fd8d3c"], 2: ["#fecc5c", "#e31a1c"],
          3: ["#ffeda0", "#feb24c", "#f03b20"],
          4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
          5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
          6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
          7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]}
ZERO_COLOUR, NODATA_COLOUR, OUTSIDE_COLOUR = "#f0f0f0", "#bdbdbd", "#ffffff"
"""Places with 0, places without a value, countries that are not places of the scenario."""
MAX_CLASSES = 7


MAP_CRS = "EPSG:8857"
"""Equal Earth (Savric, Patterson & Jenny 2018): equal-area, so areas compare fairly."""
LAT_RANGE = (-57.0, 84.0)
"""Latitudes shown: Antarctica and the Southern Ocean are cut off."""
LINE_COLOUR = "#08306b"
EDGE_COLOUR = "#636363"


def classify(values, breaks: list[float]) -> np.ndarray:
    """Class of each value: ``-2`` missing, ``-1`` zero, else ``0..len(breaks)``."""
    values = np.asarray(values, dtype=float)
    out = np.searchsorted(np.asarray(breaks, dtype=float), values, side="right")
    out = np.where(values > 0, out, -1)
    return np.where(np.isfinite(values), out, -2).astype(int)


def class_colours(breaks: list[float]) -> list[str]:
    """Fill colour of each class of :func:`classify` (``len(breaks) + 1`` colours)."""
    return list(YLORRD[min(len(breaks) + 1, MAX_CLASSES)])


def class_labels(breaks: list[float]) -> list[str]:
    """Legend label of each class, e.g. ``"under 0.1"``, ``"0.1 to 0.3"``, ``"10 or more"``."""
    if not breaks:
        return ["more than 0"]
    labels = [f"under {breaks[0]:g}"]
    labels += [f"{a:g} to {b:g}" for a, b in zip(breaks[:-1], breaks[1:])]
    return labels + [f"{breaks[-1]:g} or more"]
