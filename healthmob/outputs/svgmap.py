"""The interactive map of ``report.html``: inline SVG, hover values, zoom on the top corridors.

No library and nothing remote: countries are simplified Natural Earth polygons in the Equal
Earth projection written as SVG paths (about 100 kB for the world), each carrying its name
and value for the page's small script (:data:`healthmob.outputs.assets.SCRIPT`) to show on hover.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from pyproj import Transformer

from .shapes import great_circle, outside_countries
from .style import (
    FIXED_BREAKS,
    LAT_RANGE,
    LINE_COLOUR,
    MAP_CRS,
    NODATA_COLOUR,
    OUTSIDE_COLOUR,
    ZERO_COLOUR,
    class_colours,
    class_labels,
    classify,
)
from .tables import CHOROPLETH, format_number

WIDTH = 1000.0
CURVE = 0.12
"""Bend of corridor curves: control point offset, as a share of the chord length."""
SIMPLIFY_M = 15_000.0
"""Tolerance of the polygon simplification (metres; one SVG unit is about 34 km)."""


def svg_map(places, top: pd.DataFrame, label: str, measure: str | None,
            unit: str = "") -> tuple[str, str]:
    """The SVG map and its HTML legend.

    Parameters
    ----------
    places : geopandas.GeoDataFrame
        ``id, name, lat, lon``, the choropleth column when present, geometry (EPSG:4326).
    top : DataFrame
        Ranked corridors to draw (ids, names, ``layer``, the column they were ranked by).
    label, unit : str
        What the choropleth shows (the legend's title); the unit of a value (tooltip).
    measure : str or None
        The headline measure: ``<measure>_new_residents`` is a place's second tooltip line.

    Returns
    -------
    (str, str)
        The ``<svg>`` element and the legend's ``<div>``.
    """
    to_map = Transformer.from_crs(4326, MAP_CRS, always_xy=True).transform
    x_max = to_map(180, 0)[0]
    y_top, y_bottom = to_map(0, LAT_RANGE[1])[1], to_map(0, LAT_RANGE[0])[1]
    scale = WIDTH / (2 * x_max)
    height = (y_top - y_bottom) * scale

    def svg_xy(x, y):
        return (np.asarray(x) + x_max) * scale, (y_top - np.asarray(y)) * scale

    nothing = np.full(len(places), np.nan)
    values = places[CHOROPLETH].to_numpy(float) if CHOROPLETH in places else nothing
    column = f"{measure}_new_residents"
    totals = places[column].to_numpy(float) if column in places else nothing
    colours, classes = class_colours(FIXED_BREAKS), classify(values, FIXED_BREAKS)
    shapes = places.to_crs(MAP_CRS).geometry.simplify(SIMPLIFY_M, preserve_topology=True)
    parts = []
    outside = outside_countries(places["id"])
    if not outside.empty:
        simple = outside.to_crs(MAP_CRS).geometry.simplify(SIMPLIFY_M,
                                                                preserve_topology=True)
        for name, shape in zip(outside["name"], simple):
            parts.append(f'<path class="o" d="{_path(shape, svg_xy)}" data-n="{_esc(name)}" '
                         'data-v="not a place of this scenario" data-t=""/>')
    for k, (shape, cls) in enumerate(zip(shapes, classes)):
        fill = NODATA_COLOUR if cls == -2 else ZERO_COLOUR if cls == -1 else colours[cls]
        value = "no data" if cls == -2 else f"{format_number(values[k])} {unit}".strip()
        total = (f"{format_number(totals[k])} new residents per year arrive with "
                 f"{(measure or '').replace('_', ' ')}")
        attrs = (f'data-n="{_esc(places["name"].iloc[k])}" data-v="{_esc(value)}" '
                 f'data-t="{_esc(total)}" fill="{fill}"')
        if shape is None or shape.is_empty:
            continue
        if shape.geom_type == "Point":
            cx, cy = svg_xy(shape.x, shape.y)
            parts.append(f'<circle class="c" cx="{cx:.1f}" cy="{cy:.1f}" r="3" {attrs}/>')
        else:
            parts.append(f'<path class="c" d="{_path(shape, svg_xy)}" {attrs}/>')
    lines, labels, box = _corridors(top, places, to_map, svg_xy, height)
    view = f"0 0 {WIDTH:.0f} {height:.0f}"
    zoom = "" if box is None else f' data-zoom="{" ".join(f"{v:.1f}" for v in box)}"'
    svg = (f'<svg id="map" viewBox="{view}" data-world="{view}"{zoom} role="img" '
           f'aria-label="Choropleth of {_esc(label)}">'
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="2.5" '
           f'markerHeight="2.5" orient="auto"><path d="M0 0L10 5L0 10z" fill="{LINE_COLOUR}"/>'
           '</marker></defs>'
           f'<rect class="sea" width="{WIDTH:.0f}" height="{height:.0f}"/>'
           f'<g id="countries">{"".join(parts)}</g><g id="corridors">{"".join(lines)}</g>'
           f'<g id="ranks">{"".join(labels)}</g></svg>')
    items = [(c, label) for c, label in zip(colours, class_labels(FIXED_BREAKS))]
    items += [(ZERO_COLOUR, "0 (none)"), (NODATA_COLOUR, "no data")]
    if not outside.empty:
        items.append((OUTSIDE_COLOUR, "not in this scenario"))
    legend = "".join(f'<span><i style="background:{c}"></i>{_esc(label)}</span>'
                     for c, label in items)
    if lines:
        legend += ('<span><i class="line"></i>top corridor (hover for its values; '
                   'width grows with the arrivals)</span>')
    return svg, (f'<div class="legend"><b>{_esc(label[0].upper() + label[1:])}</b>'
                 f'<div>{legend}</div></div>')


def _path(shape, svg_xy) -> str:
    """SVG path data of a (multi)polygon, exterior and holes, coordinates to 0.1 unit."""
    polygons = getattr(shape, "geoms", [shape])
    out = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            x, y = svg_xy(*np.asarray(ring.coords)[:, :2].T)
            rest = " ".join(f"{a:.1f} {b:.1f}" for a, b in zip(x[1:-1], y[1:-1]))
            out.append(f"M{x[0]:.1f} {y[0]:.1f}L{rest}Z")
    return "".join(out)


def _corridors(top, places, to_map, svg_xy, height):
    """Corridor polylines (great circles, split at 180°), rank labels and the zoom box."""
    if top.empty or "origin" not in top:
        return [], [], None
    centre = pd.DataFrame(places[["id", "lon", "lat"]]).set_index("id")
    key = top.attrs.get("key", "flow")
    key = key if key in top else "flow"
    value = top[key].fillna(0).to_numpy(float)
    widths = 1.2 + 3.0 * value / value.max() if value.max() > 0 else np.full(len(top), 2.0)
    lines, labels, xs, ys = [], [], [], []
    for k, row in enumerate(top.itertuples()):
        try:
            lon1, lat1 = centre.loc[row.origin, ["lon", "lat"]].astype(float)
            lon2, lat2 = centre.loc[row.destination, ["lon", "lat"]].astype(float)
        except KeyError:
            continue
        if not np.isfinite([lon1, lat1, lon2, lat2]).all():
            continue
        pieces = [svg_xy(*to_map(p[:, 0], p[:, 1])) for p in great_circle(lon1, lat1,
                                                                           lon2, lat2, 24)]
        if len(pieces) == 1:      # a gentle curve to the right: A->B and B->A stay apart
            (x1, x2), (y1, y2) = (pieces[0][0][[0, -1]], pieces[0][1][[0, -1]])
            cx, cy = (x1 + x2) / 2 - CURVE * (y2 - y1), (y1 + y2) / 2 + CURVE * (x2 - x1)
            d = f"M{x1:.1f} {y1:.1f}Q{cx:.1f} {cy:.1f} {x2:.1f} {y2:.1f}"
            label = (0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2)
        else:                     # crosses 180°: great-circle pieces, labelled on the longer
            d = "".join("M" + " ".join(f"{a:.1f} {b:.1f}" for a, b in zip(px, py))
                        for px, py in pieces)
            px, py = max(pieces, key=lambda p: len(p[0]))
            label = (px[len(px) // 2], py[len(py) // 2])
        tip = f"{row.origin_name} → {row.destination_name} ({row.layer}), rank {row.rank}"
        what = (f"{format_number(value[k])} arrivals per year with {key.replace('_', ' ')}"
                if key != "flow" else f"{format_number(value[k])} travellers per year")
        source = getattr(row, "volume_source", "")
        travellers = f"{format_number(row.flow)} travellers per year" + (
            f" (volume: {str(source).replace('_', ' ')})" if source else "")
        lines.append(f'<path class="r" d="{d}" data-w="{widths[k]:.2f}" '
                     f'data-n="{_esc(tip)}" data-v="{_esc(what)}" '
                     f'data-t="{_esc(travellers)}" marker-end="url(#arrow)"/>')
        labels.append(f'<text x="{label[0]:.1f}" y="{label[1]:.1f}">{row.rank}</text>')
        for px, py in pieces:
            xs.extend(px)
            ys.extend(py)
    if not xs or np.ptp(xs) > WIDTH / 4:
        return lines, labels, None
    aspect = height / WIDTH
    w = max(np.ptp(xs) * 1.5, np.ptp(ys) * 1.5 / aspect, 60.0)     # the world view's shape
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    return lines, labels, (cx - w / 2, cy - w * aspect / 2, w, w * aspect)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)
