"""``risk_map.png``: the choropleth of undetectable arrivals with the top corridors.

Matplotlib's object API only (no ``pyplot``: no global state, no display needed). The map is
1600 x 1000 px: a world panel in the Equal Earth projection, a zoom on the region of the top
corridors (when they are clustered) with numbered arrows, the ranked list of those corridors,
a legend with units, the scenario in the title and the data credits in a footnote.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch
from pyproj import Transformer

from ..store.atomic import atomic_path
from .shapes import great_circle, outside_countries
from .style import (
    EDGE_COLOUR,
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
from .tables import CHOROPLETH, RunFiles, format_number

WIDTH_IN, HEIGHT_IN, DPI = 16.0, 10.0, 100
WORLD_AXES = [0.005, 0.38, 0.60, 0.50]
ZOOM_AXES = [0.615, 0.21, 0.38, 0.64]


def draw_risk_map(run: RunFiles, places, top: pd.DataFrame, path: Path) -> Path:
    """Draw and save the risk map.

    Parameters
    ----------
    run : RunFiles
    places : geopandas.GeoDataFrame
        The ``places`` layer (EPSG:4326) with the column :data:`~.tables.CHOROPLETH`.
    top : DataFrame
        Ranked corridors (:func:`healthmob.outputs.tables.rank_corridors`) to draw.
    path : Path
        The PNG to write (atomically).
    """
    project = Transformer.from_crs(4326, MAP_CRS, always_xy=True).transform
    top = _with_ends(top, places)
    shapes = places.to_crs(MAP_CRS)
    values = places[CHOROPLETH].to_numpy(float) if CHOROPLETH in places else \
        np.full(len(places), np.nan)
    breaks = FIXED_BREAKS
    colours = class_colours(breaks)
    classes = classify(values, breaks)
    fills = [NODATA_COLOUR if c == -2 else ZERO_COLOUR if c == -1 else colours[c]
             for c in classes]

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    fig.suptitle("\n".join(textwrap.wrap(f"{run.map_title} — scenario “{run.scenario}”",
                                          120)), x=0.01, y=0.975, ha="left", fontsize=19,
                 fontweight="bold", va="top")
    subtitle = (f"Colour: {run.choropleth_label}. Lines: the corridors with the most "
                f"arrivals in that state (new residents and visitors). {run.when}")
    fig.text(0.01, 0.94, "\n".join(textwrap.wrap(subtitle, 170)), fontsize=12, va="top",
             color="#333333")
    outside = outside_countries(places["id"]).to_crs(MAP_CRS)
    world = fig.add_axes(WORLD_AXES)
    _draw_outside(world, outside)
    _draw_places(world, shapes, fills)
    world.set_xlim(*(project(lon, 0)[0] * 1.005 for lon in (-180, 180)))
    world.set_ylim(project(0, LAT_RANGE[0])[1], project(0, LAT_RANGE[1])[1])
    _frame(world)
    segments = _corridor_lines(top, project)
    zoom_box = _zoom_extent(top, project) if segments else None
    if segments:
        widths = _widths(top)
        for pieces, width in zip(segments, widths):
            for xy in pieces:
                world.plot(xy[:, 0], xy[:, 1], color=LINE_COLOUR, lw=width * 0.6,
                           solid_capstyle="round", alpha=0.9)
        if zoom_box is not None:
            zx0, zx1, zy0, zy1 = zoom_box
            world.plot([zx0, zx1, zx1, zx0, zx0], [zy0, zy0, zy1, zy1, zy0], color="black",
                       lw=1.2, ls="--")
            zoom = fig.add_axes(ZOOM_AXES)
            _draw_outside(zoom, outside)
            _draw_places(zoom, shapes, fills)
            _draw_arrows(zoom, top, project, widths)
            zoom.set_xlim(zx0, zx1)
            zoom.set_ylim(zy0, zy1)
            _frame(zoom)
            zoom.set_title("Zoom on the dashed box: top corridors, numbered by rank",
                           fontsize=12, loc="left")
        _corridor_list(fig, top, zoom_box is not None)
    else:
        fig.text(0.63, 0.85, "No corridor variables in risk.nc:\nno corridors drawn.",
                 fontsize=12)
    _legend(fig, breaks, colours, bool(segments), not outside.empty,
            run.choropleth_label[0].upper() + run.choropleth_label[1:])
    _footnote(fig, run)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, facecolor="white")
    return path


def _draw_outside(ax, outside) -> None:
    if not outside.empty:
        outside.plot(ax=ax, color=OUTSIDE_COLOUR, edgecolor="#bdbdbd", linewidth=0.3)


def _draw_places(ax, shapes, fills) -> None:
    polygonal = shapes.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    fills = np.asarray(fills, dtype=object)
    if polygonal.any():
        shapes[polygonal].plot(ax=ax, color=list(fills[polygonal]), edgecolor=EDGE_COLOUR,
                               linewidth=0.35)
    points = ~polygonal & ~shapes.geometry.is_empty.to_numpy()
    if points.any():
        pts = shapes[points].geometry
        ax.scatter(pts.x, pts.y, s=40, c=list(fills[points]), edgecolors=EDGE_COLOUR,
                   linewidths=0.6, zorder=3)


def _frame(ax) -> None:
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#dbe9f4")
    for spine in ax.spines.values():
        spine.set_color("#9e9e9e")


def _key(top: pd.DataFrame) -> str:
    """The column the corridors were ranked by (:func:`~.tables.rank_corridors`)."""
    key = top.attrs.get("key", "flow")
    return key if key in top else "flow"


def _widths(top: pd.DataFrame) -> np.ndarray:
    key = _key(top)
    value = top[key].fillna(0).to_numpy(float)
    return 1.5 + 4.5 * value / value.max() if value.max() > 0 else np.full(len(value), 2.0)


def _corridor_lines(top: pd.DataFrame, project) -> list[list[np.ndarray]]:
    """Projected great-circle pieces of each corridor (empty without coordinates)."""
    ends = _ends(top)
    if ends is None:
        return []
    out = []
    for lon1, lat1, lon2, lat2 in ends:
        pieces = []
        for piece in great_circle(lon1, lat1, lon2, lat2):
            x, y = project(piece[:, 0], piece[:, 1])
            pieces.append(np.c_[x, y])
        out.append(pieces)
    return out


def _with_ends(top: pd.DataFrame, places) -> pd.DataFrame:
    """Add the population centres of origin and destination, joined by place id."""
    top = top.copy()
    centre = pd.DataFrame(places[["id", "lat", "lon"]]).set_index("id")
    for side in ("origin", "destination"):
        for coord in ("lat", "lon"):
            top[f"{side}_{coord}"] = top[side].map(centre[coord]).astype(float) \
                if side in top else np.nan
    return top


def _ends(top: pd.DataFrame) -> np.ndarray | None:
    cols = ["origin_lon", "origin_lat", "destination_lon", "destination_lat"]
    if top.empty or not set(cols) <= set(top.columns):
        return None
    ends = top[cols].to_numpy(float)
    return ends if np.isfinite(ends).all() else None


def _zoom_extent(top, project):
    """A box around the top corridors, when they fill less than a quarter of the world."""
    ends = _ends(top)
    if ends is None:
        return None
    x, y = project(np.r_[ends[:, 0], ends[:, 2]], np.r_[ends[:, 1], ends[:, 3]])
    world_width = 2 * project(180, 0)[0]
    width, height = np.ptp(x), np.ptp(y)
    if width > world_width / 4:
        return None
    aspect = ZOOM_AXES[3] * HEIGHT_IN / (ZOOM_AXES[2] * WIDTH_IN)   # panel height / width
    half_w = max(width * 1.3, height * 1.3 / aspect, 1.5e6) / 2     # at least 1,500 km
    half_h = half_w * aspect
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    return cx - half_w, cx + half_w, cy - half_h, cy + half_h


def _draw_arrows(ax, top, project, widths) -> None:
    ends = _ends(top)
    x1, y1 = project(ends[:, 0], ends[:, 1])
    x2, y2 = project(ends[:, 2], ends[:, 3])
    rad = 0.25
    for k, rank in enumerate(top["rank"].to_numpy()):
        ax.add_patch(FancyArrowPatch((x1[k], y1[k]), (x2[k], y2[k]),
                                     connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=10 + 2 * widths[k],
                                     lw=widths[k] * 0.7, color=LINE_COLOUR, alpha=0.85,
                                     zorder=4))
        # the midpoint of matplotlib's arc3 Bezier curve: chord midpoint + rad/2 * normal
        dx, dy = x2[k] - x1[k], y2[k] - y1[k]
        mx, my = (x1[k] + x2[k]) / 2 + rad / 2 * dy, (y1[k] + y2[k]) / 2 - rad / 2 * dx
        ax.text(mx, my, str(rank), fontsize=9, ha="center", va="center", zorder=5,
                fontweight="bold", color=LINE_COLOUR,
                bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": LINE_COLOUR,
                      "lw": 0.6, "alpha": 0.9})
    ax.scatter(np.r_[x1, x2], np.r_[y1, y2], s=10, color="black", zorder=5)
    names = dict(zip(top["origin_name"], zip(x1, y1))) | dict(
        zip(top["destination_name"], zip(x2, y2)))
    for name, (x, y) in names.items():
        ax.annotate(name, (x, y), xytext=(4, -4), textcoords="offset points", fontsize=8.5,
                    color="#252525", style="italic", va="top", zorder=4.5,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.6})


def _corridor_list(fig, top: pd.DataFrame, zoomed: bool) -> None:
    """The ranked corridors as text: below both panels (3 columns) or right of the world."""
    key = _key(top)
    unit = f"{key.replace('_', ' ')} arrivals per year" if key != "flow" else \
        "travellers per year"
    n = 18 if zoomed else 24
    lines = [f"{r.rank:>2}. {_short(r.origin_name, n)} → {_short(r.destination_name, n)} "
             f"({r.layer}): {format_number(getattr(r, key))}"
             + (" *" if getattr(r, "volume_source", "") == "imputed" else "")
             for r in top.itertuples()]
    if any(line.endswith(" *") for line in lines):
        lines.append("* volume from imputed travel totals")
    if zoomed:
        x, y, n_cols, step = 0.01, 0.205, 3, 0.215
    else:
        x, y, n_cols, step = 0.63, 0.87, 1, 0.0
    fig.text(x, y, f"Top {len(top)} corridors ({unit})", fontsize=12, fontweight="bold")
    per_col = -(-len(lines) // n_cols)
    for col in range(n_cols):
        chunk = lines[col * per_col:(col + 1) * per_col]
        fig.text(x + step * col, y - 0.015, "\n".join(chunk), fontsize=10, va="top",
                 linespacing=1.4)


def _short(name: str, n: int) -> str:
    return name if len(name) <= n else name[:n - 1].rstrip() + "…"


def _legend(fig, breaks, colours, with_lines: bool, with_outside: bool,
            legend_title: str) -> None:
    handles = [Patch(facecolor=c, edgecolor=EDGE_COLOUR, label=label)
               for c, label in zip(colours, class_labels(breaks))]
    handles += [Patch(facecolor=ZERO_COLOUR, edgecolor=EDGE_COLOUR, label="0 (none)"),
                Patch(facecolor=NODATA_COLOUR, edgecolor=EDGE_COLOUR, label="no data")]
    if with_outside:
        handles.append(Patch(facecolor=OUTSIDE_COLOUR, edgecolor="#bdbdbd",
                             label="not in this\nscenario"))
    if with_lines:
        handles.append(Line2D([], [], color=LINE_COLOUR, lw=3,
                              label="top corridor\n(width ∝ arrivals)"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.005, 0.375),
               ncol=5, fontsize=10.5, title="\n".join(textwrap.wrap(legend_title, 90)),
               title_fontsize=12, frameon=False, handlelength=2.2, handleheight=1.4,
               columnspacing=1.0, alignment="left")


def _footnote(fig, run: RunFiles) -> None:
    text = (f"Data: {run.data_sources}. Results: healthmob risk model "
            f"({run.risk.attrs.get('source', 'healthmob')}), run folder {run.directory.name}. "
            "Projection: Equal Earth. Countries are Natural Earth 1:110m; small states and "
            "territories absent from it are drawn as dots.")
    fig.text(0.01, 0.012, "\n".join(textwrap.wrap(text, 215)), fontsize=9, color="#444444",
             va="bottom")
