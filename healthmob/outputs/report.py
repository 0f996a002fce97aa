"""``report.html``: one self-contained page with the map, the top tables and the provenance.

All CSS and JavaScript are inline and nothing is loaded from the network, so the file can be
mailed, archived and opened offline. The map is inline SVG (:mod:`.svgmap`):
hover a country for its value, a corridor for its flows; a button zooms on the top
corridors. Tables sort by a click on a column header. The page's CSS and script are in
:mod:`.assets`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..store.atomic import write_text_atomic
from .assets import SCRIPT, STYLE
from .shapes import places_geoframe
from .style import CHOROPLETH_UNITS
from .svgmap import svg_map
from .tables import RunFiles, corridor_table, format_number, load_run, rank_corridors

HTML_FILE = "report.html"
N_TOP_TABLE, N_TOP_PLACES, N_TOP_MAP = 20, 20, 20
LABELS = {
    "undetectable_arrivals_per_100k": "Undetectable infected arrivals per 100,000 per year",
    "undetectable_arrivals_total": "Undetectable infected arrivals per year",
    "p_undetectable_infectious_arrival": "Probability of at least one undetectable "
                                         "infectious arrival in a year",
    "hiv_in_window_arrivals": "Arrivals with HIV in the test window per year",
    "hiv_undiagnosed_arrivals": "Arrivals with undiagnosed HIV per year",
    "missed_arrivals_total": "Infected arrivals missed by the screening policy per year",
    "missed_arrivals": "Infected arrivals missed by the screening policy per year",
    "detected_arrivals": "Infected arrivals detected per year",
}
FUTURE = re.compile(r"^future_(.+)_(\d+(?:_\d+)?)y$")


def write_report(run: RunFiles | str | Path) -> Path:
    """Write ``report.html`` into the run directory (atomically) and return its path."""
    run = run if isinstance(run, RunFiles) else load_run(run)
    path = run.directory / HTML_FILE
    write_text_atomic(path, render_report(run))
    return path


def render_report(run: RunFiles) -> str:
    """The report as one HTML string (see the module docstring)."""
    places = places_geoframe(run)
    corridors = corridor_table(run)
    top = rank_corridors(corridors, max(N_TOP_TABLE, N_TOP_MAP))
    svg, legend = svg_map(places, top.head(N_TOP_MAP))
    title = f"Undetectable infected arrivals — scenario “{run.scenario}”"
    status = str(run.manifest.get("status", "unknown"))
    banner = "" if status == "complete" else (
        f'<p class="warn">This run’s manifest says <b>status: {_esc(status)}</b>: the results '
        "may be incomplete.</p>")
    policy = f" Screening policy: <b>{_esc(run.policy)}</b>." if run.policy else ""
    zoom = ('<button type="button" id="zoom">Zoom on the top corridors</button>'
            if "data-zoom" in svg else "")
    body = f"""<header><h1>{_esc(title)}</h1>
<p>Infected travellers and migrants who arrive in a year and whom no test could detect during
the journey or on arrival: they were infected too recently for any test to show it.{policy}
Rebuilt from <code>risk.nc</code> of run folder <code>{_esc(run.directory.name)}</code> on
{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.</p></header>{banner}
<section><h2>Map</h2>
<p>Colour: {_esc(CHOROPLETH_UNITS)} (destination countries). Lines: the {N_TOP_MAP} corridors
with the most undetectable infected arrivals, arrows pointing to the destination. Hover a
country or a line for its values; scroll to zoom, drag to move.</p>
<div class="buttons"><button type="button" id="world">Whole world</button>{zoom}</div>
<div class="mapwrap">{svg}<div id="tip" hidden></div></div>{legend}</section>
{_summary(run, corridors, places)}
<section><h2>Top corridors</h2>
<p>Ranked by undetectable infected arrivals per year; the first {N_TOP_TABLE} of the
{len(corridors):,} corridors with travellers (<code>top_corridors.csv</code> holds 50,
<code>risk.gpkg</code> all of them).</p>{_imputed_warning(top.head(N_TOP_TABLE))}
{_corridor_html(top.head(N_TOP_TABLE))}</section>
<section><h2>Destinations</h2>
<p>The {N_TOP_PLACES} destinations with the most undetectable infected arrivals per year.
Click a column header to sort.</p>{_places_html(run, places)}</section>
{_policies_html(run)}{_surveillance_html(run)}{_notes_html(run)}
<section><h2>Provenance</h2>{_provenance_html(run)}</section>
<footer><p><b>Data sources:</b> {_esc(run.data_sources)}.
Country shapes: Natural Earth 1:110m (public domain), Equal Earth projection; small states
and territories absent from it are drawn as dots at their centre.</p></footer>"""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{STYLE}</style></head>\n<body>{body}\n"
            f"<script>{SCRIPT}</script></body></html>\n")


def _summary(run: RunFiles, corridors: pd.DataFrame, places) -> str:
    cards = []
    if "undetectable_arrivals" in corridors:
        cards.append((format_number(corridors["undetectable_arrivals"].sum()),
                      "undetectable infected arrivals per year, all destinations"))
    if "infected_arrivals" in corridors:
        cards.append((format_number(corridors["infected_arrivals"].sum()),
                      "infected arrivals per year in any infected state (for TB, latent "
                      "infection too), before screening"))
    if "p_undetectable_infectious_arrival" in places:
        n = int((places["p_undetectable_infectious_arrival"] >= 0.5).sum())
        cards.append((str(n), "destinations more likely than not to receive an undetectable "
                              "infectious arrival in a year"))
    for name, horizon in _future_columns(places):
        cards.append((format_number(places[name].sum()),
                      f"expected {_future_label(run, name)} within {horizon} years, "
                      "all destinations (one year of arrivals)"))
    if not cards:
        return ""
    items = "".join(f'<div class="card"><b>{v}</b><span>{_esc(t)}</span></div>'
                    for v, t in cards)
    return f'<section><h2>In numbers</h2><div class="cards">{items}</div></section>'


def _corridor_html(top: pd.DataFrame) -> str:
    columns = [("rank", "Rank", None), ("origin_name", "From", None),
               ("destination_name", "To", None), ("layer", "Layer", None),
               ("flow", "Travellers per year", "flow"),
               ("volume_source", "Volume from", None),
               ("infected_arrivals", "Infected arrivals per year", None),
               ("undetectable_arrivals", "Undetectable infected arrivals per year", None),
               ("missed_arrivals", "Missed by the screening policy per year", None),
               ("travel_time", "Travel time (days)", None)]
    return _table(top, [(c, label) for c, label, _ in columns if c in top])


def _imputed_warning(top: pd.DataFrame) -> str:
    """A warning naming the ranked corridors whose volume rests on an imputed margin."""
    if "volume_source" not in top:
        return ""
    imputed = top[top["volume_source"] == "imputed"]
    if imputed.empty:
        return ""
    names = ", ".join(f"#{r.rank} {r.origin_name} → {r.destination_name} ({r.layer})"
                      for r in imputed.itertuples())
    return (f'<p class="warn">{len(imputed)} of these corridors rest on imputed travel totals '
            f"(the destination reports no arrivals by that mode to UN Tourism, so its total "
            f"is a regression estimate: see docs/mobility.md): {_esc(names)}.</p>")


def _places_html(run: RunFiles, places) -> str:
    table = pd.DataFrame(places.drop(columns="geometry"))
    key = next((k for k in ("undetectable_arrivals_total", "undetectable_arrivals_per_100k")
                if k in table), None)
    if key is None:
        return "<p>risk.nc has no per-destination undetectable arrivals.</p>"
    table = table.sort_values(key, ascending=False, kind="mergesort").head(N_TOP_PLACES)
    columns = [("name", "Destination")]
    for name in ("undetectable_arrivals_per_100k", "undetectable_arrivals_total",
                 "p_undetectable_infectious_arrival"):
        if name in table:
            columns.append((name, LABELS[name]))
    for name, horizon in _future_columns(table):
        columns.append((name, f"Expected {_future_label(run, name)} within {horizon} years"))
    for name in ("hiv_in_window_arrivals", "hiv_undiagnosed_arrivals", "detected_arrivals",
                 "missed_arrivals", "missed_arrivals_total"):
        if name in table:
            columns.append((name, LABELS[name]))
    titles = {name: f"{var.attrs.get('long_name', name)} ({var.attrs.get('units', '')})"
              for name, var in run.risk.data_vars.items()}
    return _table(table, columns, titles)


def _policies_html(run: RunFiles) -> str:
    ds = run.risk
    if "policy" not in ds.dims or "missed_arrivals_total" not in ds:
        return ""
    infected = float(ds["infected_arrivals"].sum()) if "infected_arrivals" in ds else np.nan
    rows = []
    for policy in ds["policy"].values:
        sel = ds.sel(policy=policy)
        missed = float(sel["missed_arrivals_total"].sum())
        row = {"policy": str(policy), "missed": missed,
               "share": 100 * missed / infected if infected > 0 else np.nan}
        if "policy_description" in ds.coords:
            row["description"] = str(sel["policy_description"].values)
        for name in ("detected_departure", "detected_arrival", "false_positives"):
            if name in ds:
                row[name] = float(sel[name].sum())
        rows.append(row)
    frame = pd.DataFrame(rows)
    columns = [("policy", "Policy"), ("description", "What it screens"),
               ("missed", "Infected arrivals missed per year"),
               ("share", "Missed, % of infected arrivals"),
               ("detected_departure", "Stopped at departure per year"),
               ("detected_arrival", "Detected on arrival per year"),
               ("false_positives", "Uninfected travellers flagged per year")]
    return (f"<section><h2>Screening policies compared</h2><p>All destinations together. The "
            f"run’s policy is <b>{_esc(run.policy)}</b>; every policy is applied to the same "
            "arrivals.</p>" + _table(frame, [c for c in columns if c[0] in frame]) + "</section>")


def _surveillance_html(run: RunFiles) -> str:
    """The surveillance stage's alarms of its last year and its series figure, when the run
    has them (``healthmob surveil``; docs/surveillance.md)."""
    alerts_path = run.directory / "alerts.csv"
    if not alerts_path.is_file():
        return ""
    alerts = pd.read_csv(alerts_path, keep_default_na=False, dtype={"year": int})
    alarms = alerts[alerts["algorithm"] == "noufaily_model_offset"]
    picture = run.directory / "surveillance_series.png"
    image = ("" if not picture.is_file() else
             f'<img alt="observed notifications against the model" style="max-width:100%" '
             f'src="data:image/png;base64,{base64.b64encode(picture.read_bytes()).decode()}">')
    if alarms.empty:
        table = "<p>No year has more notifications than the model explains.</p>"
    else:
        last = alarms[alarms["year"] == alarms["year"].max()].copy()
        last["observed / expected"] = last["observed"] / last["expected"].replace(0, np.nan)
        columns = [("reporting_place", "Place"), ("country_of_birth", "Born"),
                   ("observed", "Observed"), ("expected", "Model"), ("baseline", "Baseline"),
                   ("threshold", "Threshold"), ("q_value", "q-value"),
                   ("alarm_after_fdr", "After FDR")]
        table = (f"<p>Alarms of {int(last['year'].iloc[0])} (more notified than the model and "
                 f"its migration explain): {len(last)}; every year and algorithm in "
                 f"<code>alerts.csv</code>.</p>" + _table(last, columns))
    return (f"<section><h2>Surveillance: notifications against the model</h2>"
            f"<p>{len(alarms)} alarms with the model as offset over all years "
            f"({int((alarms['alarm_after_fdr'] == 'True').sum())} after false-discovery "
            f"control). Method and outputs: docs/surveillance.md.</p>{table}{image}</section>")


def _notes_html(run: RunFiles) -> str:
    if not run.notes:
        return ""
    items = "".join(f"<li>{_esc(note)}</li>" for note in run.notes)
    return f"<section><h2>Left out</h2><ul>{items}</ul></section>"


def _provenance_html(run: RunFiles) -> str:
    m = run.manifest
    keys = ("healthmob_version", "command", "status", "seed", "started", "finished",
            "wall_seconds", "python", "platform")
    rows = [(k, m[k]) for k in keys if k in m]
    rows += [(f"risk.nc {k}", run.risk.attrs[k]) for k in
             ("title", "history", "policy", "reference_tests", "traveller_categories",
              "references") if k in run.risk.attrs]
    out = _kv_table(rows) if rows else "<p>No manifest.json in the run directory.</p>"
    if m.get("inputs"):
        out += "<h3>Inputs (sha256)</h3>" + _kv_table(list(m["inputs"].items()), code=True)
    if m.get("packages"):
        out += "<h3>Package versions</h3>" + _kv_table(list(m["packages"].items()))
    if run.config_text:
        out += (f"<details><summary>Configuration as run (config.toml)</summary>"
                f"<pre>{_esc(run.config_text)}</pre></details>")
    return out


def _table(frame: pd.DataFrame, columns, titles: dict | None = None) -> str:
    """A sortable table; numbers right-aligned with their raw value in ``data-v``;
    probabilities (columns named ``p_*``) as percentages."""
    titles = titles or {}
    head = "".join(f'<th title="{_esc(titles.get(c, label))}">{_esc(label)}</th>'
                   for c, label in columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c, _label in columns:
            value = row[c]
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                text = _percent(value) if c.startswith("p_") else format_number(value)
                cells.append(f'<td class="n" data-v="{float(value):.6g}">{text}</td>')
            else:
                cells.append(f"<td>{_esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _percent(p) -> str:
    if not np.isfinite(p):
        return "–"
    if p >= 0.999:
        return "> 99.9%"
    if 0 < p < 0.001:
        return "< 0.1%"
    return f"{100 * p:.1f}%"


def _kv_table(rows, code: bool = False) -> str:
    wrap = (lambda v: f"<code>{_esc(v)}</code>") if code else _esc
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{wrap(v)}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="kv">{body}</table></div>'


def _future_columns(table) -> list[tuple[str, str]]:
    found = [(c, FUTURE.match(c)) for c in table.columns if FUTURE.match(c)]
    return [(c, m.group(2).replace("_", ".")) for c, m in found if "__" not in c]


def _future_label(run: RunFiles, name: str) -> str:
    tally = FUTURE.match(name).group(1)
    return {"tb_incidence": "active TB cases", "active_tb": "active TB cases"}.get(
        tally, tally.replace("_", " "))


def _esc(text) -> str:
    return html.escape(str(text), quote=True)
