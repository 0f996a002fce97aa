"""``report.html``: one self-contained page a ministry can read about its own country.

For a run with a focus (``[focus] destination`` or ``healthmob report --destination``) the
page opens on that country: a summary in words with the key numbers and their intervals,
a "how to read this" box, the map zoomed on its origins, its origins ranked with bars, the
screening programmes compared (yield, number needed to screen, false positives, cases
prevented, costs), every country in a searchable list, the top corridors, provenance.
Without a focus it is about every destination. All CSS and JavaScript are inline and
nothing is loaded from the network; no absolute local path is written, so the file can be
mailed, archived and opened offline (:mod:`.assets`, :mod:`.html`).
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..store.atomic import write_text_atomic
from ..store.rundir import effective_status
from .assets import SCRIPT, STYLE
from .html import esc, kv_table, search_box, table, with_interval, without_paths
from .programmes import focus_totals, origin_table, policy_table
from .tables import (
    RunFiles,
    corridor_table,
    format_number,
    load_run,
    place_table,
    rank_corridors,
)
from .timeplot import imported_cases_png

HTML_FILE = "report.html"
N_TOP_TABLE, N_TOP_ORIGINS, N_TOP_MAP = 20, 25, 20
SUMMARY_HORIZON = 5.0
"""Years after entry of the future cases quoted in the summary."""


def write_report(run: RunFiles | str | Path, destination: tuple | None = None) -> Path:
    """Write ``report.html`` into the run directory (atomically) and return its path;
    ``destination`` overrides the run's focus (empty: the world)."""
    run = run if isinstance(run, RunFiles) else load_run(run, destination)
    path = run.directory / run.file_name(HTML_FILE, destination)
    write_text_atomic(path, render_report(run))
    return path


def render_report(run: RunFiles) -> str:
    """The report as one HTML string (see the module docstring)."""
    if run.mapped:
        from .shapes import places_geoframe  # geopandas: only for a run with a map

        places = places_geoframe(run)
    else:
        places = place_table(run)
    corridors = corridor_table(run)
    top = rank_corridors(corridors, run.headline, max(N_TOP_TABLE, N_TOP_MAP))
    origins = origin_table(run)
    where = run.focus_names or "all destinations"
    where = where[0].upper() + where[1:]
    title = f"{where}: arrivals with TB and HIV — scenario “{run.scenario}”"
    status = effective_status(run.manifest, run.directory) if run.manifest else "unknown"
    banner = "" if status == "complete" else (
        f'<p class="warn">This run’s manifest says <b>status: {esc(status)}</b>: the results '
        "may be incomplete.</p>")
    body = f"""<header><h1>{esc(title)}</h1>{_summary(run, origins)}
<p>Rebuilt from <code>risk.nc</code> of run folder <code>{esc(run.directory.name)}</code> on
{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. {esc(run.when)}</p></header>{banner}
{_how_to_read(run)}{_map_html(run, places, top)}
{_origins_html(run, origins)}{_timeplot_html(run)}{_policies_html(run)}
<section><h2>Top corridors</h2>
<p>Ranked by arrivals with {esc(run.headline or "travellers")} per year; the first
{N_TOP_TABLE} of the {len(corridors):,} corridors with travellers (<code>top_corridors.csv</code>
holds 50, <code>risk.gpkg</code> all of them).</p>{_imputed_warning(top.head(N_TOP_TABLE))}
{_corridor_html(run, top.head(N_TOP_TABLE))}</section>
{_every_place_html(run, origins, places)}
{_surveillance_html(run)}{_notes_html(run)}
<section><h2>Provenance</h2>{_provenance_html(run)}</section>
<footer><p><b>Data sources:</b> {esc(run.data_sources)}.
Country shapes: Natural Earth 1:110m (public domain), Equal Earth projection; small states
and territories absent from it are drawn as dots at their centre.</p></footer>"""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>{body}\n"
            f"<script>{SCRIPT}</script></body></html>\n")


def _map_html(run: RunFiles, places, top: pd.DataFrame) -> str:
    """The interactive map of the choropleth and the top corridors (a note when no place
    has coordinates)."""
    if not run.mapped:
        return ("<section><h2>Map</h2><p>No place of this run has coordinates, so there is "
                "no map: the tables below hold every number.</p></section>")
    from .svgmap import svg_map  # geometry: only for a run with a map to draw

    svg, legend = svg_map(places, top.head(N_TOP_MAP), run.choropleth_label, run.headline,
                          run.choropleth_unit)
    zoom = ('<button type="button" id="zoom">Zoom on the top corridors</button>'
            if "data-zoom" in svg else "")
    return f"""
<section><h2>Map</h2>
<p>Colour: {esc(run.choropleth_label)}. Lines: the {N_TOP_MAP} corridors with the most
arrivals with {esc(run.measure_label(run.headline) if run.headline else "travellers")},
arrows pointing to the destination. Hover a country or a line for its values; scroll to
zoom, drag to move; the list of every country below reaches them by keyboard.</p>
<div class="buttons"><button type="button" id="world">Whole world</button>{zoom}</div>
<div class="mapwrap">{svg}<div id="tip" hidden></div></div>{legend}</section>"""


def _summary(run: RunFiles, origins: pd.DataFrame) -> str:
    """The opening paragraph: the key numbers of each disease in words (each sentence only
    when the run has its measures)."""
    if origins.empty:
        return "<p>risk.nc has no arrivals by measure: no summary.</p>"
    totals = focus_totals(run, origins)

    def n(key: str) -> str:
        return f"<b>{esc(with_interval(totals, key))}</b>"

    where = run.focus_names or "the destinations of this scenario"
    text = [f"Each year about <b>{format_number(totals['travellers'])}</b> travellers arrive "
            f"in {esc(where)} in the model: {n('new_residents')} new residents (migrants, and "
            f"people returning to their country of birth) and "
            f"<b>{format_number(totals['visitors'])}</b> visitors who go home."]
    future = f"future_tb_incidence_{SUMMARY_HORIZON:g}y"
    sentences = [
        (("tb_active_new_residents", "tb_latent_new_residents"),
         lambda: f"Among the new residents, {n('tb_active_new_residents')} arrive with active "
                 f"TB and {n('tb_latent_new_residents')} with latent TB infection."),
        ((future,), lambda: f"{n(future)} of them are expected to develop active TB within "
                            f"{SUMMARY_HORIZON:g} years of entry."),
        (("tb_latent_recent_new_residents",),
         lambda: f"{n('tb_latent_recent_new_residents')} were infected with TB in the last "
                 "weeks, before any test could detect it."),
        (("tb_active_visitors",), lambda: f"Visitors bring {n('tb_active_visitors')} active "
                                          "TB cases a year."),
        (("hiv_infection_new_residents", "hiv_not_on_art_new_residents"),
         lambda: f"For HIV: {n('hiv_infection_new_residents')} new residents live with HIV, "
                 f"{n('hiv_not_on_art_new_residents')} of them not on ART."),
        (("hiv_in_window_new_residents",), lambda: f"{n('hiv_in_window_new_residents')} are "
                                                   "inside the HIV test window."),
    ]
    text += [say() for keys, say in sentences if all(k in totals for k in keys)]
    named = ", ".join(esc(name) for name in origins["origin_name"].head(3))
    if named and run.headline:
        text.append(f"The largest origins of new residents with "
                    f"{esc(run.measure_label(run.headline))}: {named}.")
    return "<p>" + " ".join(text) + "</p>"


def _how_to_read(run: RunFiles) -> str:
    intervals = ("A number with brackets is the median and, in brackets, the 95% interval "
                 "(2.5% to 97.5%) of an uncertainty ensemble of "
                 f"{run.risk.attrs.get('uncertainty_members')} members over the declared "
                 "parameter ranges and the WHO incidence bounds; the point estimate at the "
                 "declared values is in risk.nc and top_corridors.csv."
                 if "interval_programme" in run.risk
                 else "Every number is a point estimate: this run has no uncertainty "
                      "ensemble ([risk.uncertainty] members), so no interval is shown.")
    return f"""<section class="howto"><h2>How to read this</h2><ul>
<li>All numbers are per year and come from the model, not from surveillance counts; TB and
HIV are counted apart and never added.</li>
<li><b>New residents</b> are long-stay migrants and people returning to their country of
birth; <b>visitors</b> go home after days or weeks and are not screened by the programmes
below.</li>
<li><b>Active TB at arrival</b> counts people with TB disease (untreated or on treatment);
<b>latent TB</b> people infected without disease, of whom a few percent develop it in the
following years; <b>recently infected</b> people cannot yet be detected by any test.</li>
<li>A programme's <b>yield</b> is cases found per 100,000 screened, its <b>number needed to
screen</b> the people screened per case found; <b>cases prevented</b> are cases within the
horizon the country does not get (kept out by pre-entry screening, or avoided by preventive
treatment); onward transmission is not counted.</li>
<li>{esc(intervals)}</li>
<li>Corridors marked * rest on imputed travel volumes (no arrivals by that mode reported to
UN Tourism): treat them with more caution.</li></ul></section>"""


def _origins_html(run: RunFiles, origins: pd.DataFrame) -> str:
    if origins.empty or not run.headline:
        return ""
    head = run.headline
    columns = [("rank", "Rank"), ("origin_name", "From"),
               (f"{head}_new_residents", f"New residents with {head.replace('_', ' ')}")]
    for name, label in (("tb_latent_new_residents", "New residents with latent TB"),
                        ("future_tb_incidence_5y", "Active TB expected within 5 years"),
                        ("hiv_not_on_art_new_residents", "New residents with HIV, not on ART"),
                        (f"{head}_visitors", f"Visitors with {head.replace('_', ' ')}"),
                        ("travellers", "Travellers per year")):
        if name in origins and (name, label) not in columns:
            columns.append((name, label))
    shown = origins.head(N_TOP_ORIGINS).copy()
    shown["origin_name"] = shown["origin_name"].where(~shown["imputed_volume"],
                                                      shown["origin_name"] + " *")
    into = f" into {esc(run.focus_names)}" if run.focus else " into every destination"
    return (f"<section><h2>Origins ranked</h2><p>The {len(shown)} origins with the most new "
            f"residents{into} arriving with {esc(run.measure_label(head))}, of "
            f"{len(origins)} with travellers. Click a header to sort; * marks an origin with a "
            "corridor whose volume is imputed.</p>"
            + table(shown, columns, bars=f"{head}_new_residents") + "</section>")


def _timeplot_html(run: RunFiles) -> str:
    png = imported_cases_png(run)
    if png is None:
        return ""
    return ("<section><h2>Imported TB over time</h2><p>TB notified a year among the "
            "foreign-born, by years since entry (the model's birthplace account: the history "
            "where the run follows one, then the projection), and WHO's observed "
            "foreign-born notifications where every place of the focus reports them. The "
            "model is not fitted to them (docs/plausibility.md).</p>"
            f'<img alt="TB notified among the foreign-born by year" style="max-width:100%" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></section>')


def _policies_html(run: RunFiles) -> str:
    policies = policy_table(run)
    if policies.empty:
        return ""
    currency = str(run.risk.attrs.get("currency", ""))
    horizons = [f"{h:g}" for h in run.risk["horizon"].values] if "horizon" in run.risk.dims \
        else []
    columns = [("policy", "Policy"), ("disease", "Disease"),
               ("screened", "Screened per year"), ("found", "Cases found"),
               ("yield_per_100k", "Yield per 100,000 screened"),
               ("number_needed_to_screen", "Number needed to screen"),
               ("false_positives", "False positives"), ("treated", "Starting preventive "
                                                                   "treatment")]
    columns += [(f"prevented_{h}y", f"Cases prevented within {h} years") for h in horizons
                if h in ("2", "5", "10")]
    columns += [("cost", f"Cost per year ({currency})"),
                ("cost_per_case_found", f"Cost per case found ({currency})"),
                ("cost_per_case_prevented_5y", f"Cost per case prevented within 5 years "
                                               f"({currency})")]
    columns = [c for c in columns if c[0] in policies]
    where = esc(run.focus_names or "all destinations together")
    described = "".join(f"<li><b>{esc(r.policy)}</b>: {esc(r.description)}; counts "
                        f"{esc(run.measure_label(r.finds) if r.finds else 'nothing')}</li>"
                        for r in policies.itertuples() if "description" in policies)
    return (f"<section><h2>Screening programmes compared</h2><p>{where}. Each programme "
            "screens only whom it declares (categories, minimum stay, origin incidence); "
            "every one is applied to the same arrivals. A cost of – means a unit cost is "
            "missing from <code>[costs]</code>; cases found count the programme's own measure"
            f" (its disease only).</p><ul>{described}</ul>" + table(policies, columns)
            + "</section>")


def _corridor_html(run: RunFiles, top: pd.DataFrame) -> str:
    columns = [("rank", "Rank"), ("origin_name", "From"), ("destination_name", "To"),
               ("layer", "Layer"), ("arrives_as", "Arrives as"), ("category", "Category"),
               ("flow", "Travellers per year"), ("volume_source", "Volume from")]
    for measure in ("tb_active", "tb_latent", "tb_latent_recent", "hiv_not_on_art",
                    "hiv_in_window"):
        if measure in top:
            columns.append((measure, f"With {run.measure_label(measure)}"))
    columns.append(("travel_time", "Travel time (days)"))
    return table(top, [c for c in columns if c[0] in top])


def _imputed_warning(top: pd.DataFrame) -> str:
    """A warning naming the ranked corridors whose volume rests on an imputed margin."""
    if "volume_source" not in top:
        return ""
    imputed = top[top["volume_source"] == "imputed"]
    if imputed.empty:
        return ""
    names = ", ".join(f"#{r.rank} {r.origin_name} → {r.destination_name} ({r.layer}) *"
                      for r in imputed.itertuples())
    return (f'<p class="warn">{len(imputed)} of these corridors rest on imputed travel totals '
            f"(the destination reports no arrivals by that mode to UN Tourism, so its total "
            f"is a regression estimate: see docs/mobility.md): {esc(names)}.</p>")


def _every_place_html(run: RunFiles, origins: pd.DataFrame, places) -> str:
    """Every country in one searchable table: as an origin into the focus, or as a
    destination."""
    head = run.headline
    if not head:
        return ""
    if run.focus:
        frame, name = origins, "origin_name"
        what = f"every origin of travellers into {run.focus_names}"
    else:
        frame = pd.DataFrame(places.drop(columns="geometry", errors="ignore"))
        name, what = "name", "every destination"
    columns = [(name, "Country or territory")] + [
        (c, label) for c, label in ((f"{head}_new_residents", "New residents with "
                                     f"{head.replace('_', ' ')}"),
                                    (f"{head}_visitors", f"Visitors with {head.replace('_', ' ')}"),
                                    ("tb_latent_new_residents", "New residents with latent TB"),
                                    ("hiv_not_on_art_new_residents", "New residents with HIV,"
                                                                     " not on ART"))
        if c in frame]
    return (f"<section><h2>Every country</h2><p>{esc(what.capitalize())} ({len(frame)}), per "
            f"year.</p>{search_box('every', 'a country')}"
            + table(frame.sort_values(name), columns, table_id="every") + "</section>")


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
        listing = "<p>No year has more notifications than the model explains.</p>"
    else:
        last = alarms[alarms["year"] == alarms["year"].max()].copy()
        last["observed / expected"] = last["observed"] / last["expected"].replace(0, np.nan)
        columns = [("reporting_place", "Place"), ("country_of_birth", "Born"),
                   ("observed", "Observed"), ("expected", "Model"), ("baseline", "Baseline"),
                   ("threshold", "Threshold"), ("q_value", "q-value"),
                   ("alarm_after_fdr", "After FDR")]
        listing = (f"<p>Alarms of {int(last['year'].iloc[0])} (more notified than the model and "
                 f"its migration explain): {len(last)}; every year and algorithm in "
                 f"<code>alerts.csv</code>.</p>" + table(last, columns))
    return (f"<section><h2>Surveillance: notifications against the model</h2>"
            f"<p>{len(alarms)} alarms with the model as offset over all years "
            f"({int((alarms['alarm_after_fdr'] == 'True').sum())} after false-discovery "
            f"control). Method and outputs: docs/surveillance.md.</p>{listing}{image}</section>")


def _notes_html(run: RunFiles) -> str:
    if not run.notes:
        return ""
    items = "".join(f"<li>{esc(note)}</li>" for note in run.notes)
    return f"<section><h2>Left out</h2><ul>{items}</ul></section>"


def _provenance_html(run: RunFiles) -> str:
    m = run.manifest
    keys = ("healthmob_version", "command", "status", "seed", "started", "finished",
            "wall_seconds", "python", "platform")
    rows = [(k, without_paths(m[k])) for k in keys if k in m]
    rows += [(f"risk.nc {k}", run.risk.attrs[k]) for k in
             ("title", "history", "policy", "focus_destination", "state_date", "currency",
              "traveller_categories", "references") if k in run.risk.attrs]
    out = kv_table(rows) if rows else "<p>No manifest.json in the run directory.</p>"
    if m.get("inputs"):
        out += "<h3>Inputs (sha256)</h3>" + kv_table(
            [(without_paths(k), v) for k, v in m["inputs"].items()], code=True)
    if m.get("packages"):
        out += "<h3>Package versions</h3>" + kv_table(list(m["packages"].items()))
    if run.config_text:
        out += (f"<details><summary>Configuration as run (config.toml)</summary>"
                f"<pre>{esc(without_paths(run.config_text))}</pre></details>")
    return out
