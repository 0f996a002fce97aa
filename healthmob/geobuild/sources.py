"""Render ``geo/SOURCES.md``: provenance, licences, method notes and the counts of a build.

Used by :func:`.build.build`; kept apart so that the builders stay short. Each ``*_section``
function returns one part of the file, ending with a newline; :func:`render_sources` joins
them with blank lines.
"""

from __future__ import annotations

import pandas as pd

RAW = (  # (raw file, origin repository, commit) as given in the data folder's SOURCES.md
    ("natural_earth/ne_110m_admin_0_countries.geojson",
     "GIScience/ai-assisted-osm-mapping-stats", "45c342595f3a6bcad30d9c93ee14d8c71303b6ae"),
    ("openflights/{routes,airports,countries}.dat",
     "emmalanguage/openflights (fork of jpatokal/openflights)",
     "357555f096e44090c4b61b41a6bb3c290308faf0"),
    ("who_tb/TB_burden_countries_2024-03-26.csv",
     "UBC-MDS/DSCI-532_2024_1_TBtracker", "d3840c0114119c989b7faa646d1a29d9a998ff86"),
    ("worldbank/API_SP.POP.TOTL_DS2_en_csv_v2_85.csv",
     "JBreitenbr/psychic-meme", "ccf527aaa3abcea9b0451dca159640b76fb8f71e"),
    ("worldbank/API_SH.DYN.AIDS.ZS_DS2_en_csv_v2_9.csv",
     "JBreitenbr/psychic-meme", "ccf527aaa3abcea9b0451dca159640b76fb8f71e"),
    ("owid_hiv/share-of-the-population-infected-with-hiv.csv",
     "yashparikh26/outbreaks", "4116e90cb1ae222995ccbc4386f5ab30f49d3cbe"),
    ("who_tb_2025/TB_burden_countries_2025-10-29.csv (history.csv only)",
     "Debebe/Bbuff (indata/)", "b60e8eb89e11676e66524254a80641a35a473948"),
    ("who_tb_2025/TB_notifications_2025-05-21.csv (notifications_who.csv)",
     "Debebe/Bbuff (indata/)", "b60e8eb89e11676e66524254a80641a35a473948"),
    ("phe_tb_england_wales/tb_not_ew.csv (notifications_england_wales.csv)",
     "seabbs/tbinenglanddataclean (data-raw/)", "74e92c715edb33f8d914de230c13431b888cc73b"),
    ("hiv_wdi/{antiretroviral-therapy-coverage,adults-newly-infected-with-hiv}.csv",
     "triphanvn/Viz-DataDrivenProj-HIVDashboard", "14a9ba12c9076884c82027890f4e80b7d2820bd4"),
    ("un_desa_migrant_stock_2024/undesa_stocks_1990-2024.csv",
     "iom/gdidata (data/undesa_stocks.rda, converted to CSV without change)",
     "c9e4cc69cebd91d6cfca5f4107e2406e4de2c6ff"),
    ("unwto_tourism/unwto-all-data-download_2022.xlsx",
     "johnhope829/Tourism_Regression_Analysis", "f85393780537bcc52d6dd4383f96266cce7fa880"),
    ("border_infrastructure/border-infrastructure-data.csv",
     "FabianFox/border-infrastructure-data", "d7f9f170a10f2c7c66556e8817ce566305fdc94d"),
    ("passport_index/passport-index-tidy-iso3.csv",
     "ilyankou/passport-index-dataset", "a46dbc872002e01f6465a69071a7ed5b6dc8fc7b"),
    ("geodatasource_borders/GEODATASOURCE-COUNTRY-BORDERS.CSV",
     "geodatasource/country-borders", "bb775affa1db5ace2871c6d3ff6042cc3e8b3671"),
)

LICENCES = (  # (source, publisher, year of data, licence or terms)
    ("Natural Earth 1:110m admin-0", "Natural Earth", "v5.1.x; POP_EST mostly 2019",
     "Public domain"),
    ("OpenFlights routes, airports, countries", "OpenFlights.org (Jani Patokallio)",
     "routes June 2014; airports 2017 export",
     "**ODbL 1.0** (contents DbCL 1.0): a publicly used derived database must credit "
     "OpenFlights and be offered under ODbL (share-alike)"),
    ("WHO TB burden estimates", "World Health Organization, Global TB Programme",
     "2022 (export 2024-03-26)",
     "**Not confirmed**: WHO's terms for these CSVs were not found; confirm redistribution "
     "with WHO before shipping"),
    ("WHO TB burden estimates, 2025 release (`history.csv`)",
     "World Health Organization, Global TB Programme", "2000-2023 (export 2025-10-29)",
     "**Not confirmed**, as the 2024 release"),
    ("WHO TB notifications (`notifications_who.csv`)",
     "World Health Organization, Global TB Programme", "2000-2023 (export 2025-05-21)",
     "**Not confirmed**, as the burden estimates"),
    ("TB notifications in England and Wales 1913-2016 (`notifications_england_wales.csv`)",
     "Public Health England", "1913-2016", "Open Government Licence v3.0 (PHE)"),
    ("World Bank WDI SP.POP.TOTL, SH.DYN.AIDS.ZS, SH.HIV.ARTC.ZS, SH.HIV.INCD",
     "World Bank (HIV, ART coverage and new infections from UNAIDS)",
     "2022 / latest to 2021 / latest to 2022; 2000-2023 in history.csv",
     "CC BY 4.0 (World Bank terms; stated from general knowledge); UNAIDS terms for the "
     "underlying estimates"),
    ("OWID HIV prevalence 15-49", "UNAIDS, processed by Our World in Data", "latest to 2023",
     "UNAIDS terms, **CC BY-NC-SA 3.0 IGO: non-commercial, share-alike**"),
    ("UN DESA International Migrant Stock 2024", "UN DESA Population Division",
     "1990-2024 (dates 2000-2024 used)", "UN data terms of use (free use with attribution); "
     "the converting package is MIT"),
    ("UN Tourism key tourism statistics (all data, 2022 edition)", "UN Tourism (UNWTO)",
     "2010-2022 used", "**Not confirmed**: UN Tourism's own terms (Our World in Data records "
     "its copy of the same download as CC BY 4.0)"),
    ("Border Infrastructure Data", "Guelzau F, Mau S (2021), Historical Social Research "
     "46(3):23-48", "collected 2018-2019", "none stated; cite the paper"),
    ("Passport Index dataset", "Ilya Ilyankou, from passportindex.org", "12 January 2025",
     "MIT (repository)"),
    ("GeoDataSource country borders", "GeoDataSource", "2022-09-30",
     "**CC BY-SA 4.0**; required attribution: \"This site or product includes Country "
     "Borders data available from https://www.geodatasource.com\""),
)


def md_table(header, rows) -> str:
    """A Markdown table from a header tuple and row tuples."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def counts(series: pd.Series) -> str:
    """``"a: 3, b: 1"`` for the values of ``series``, most frequent first."""
    return ", ".join(f"{k}: {v}" for k, v in series.value_counts().items())


def sanity_rows(places, air, land, mig):
    """Rows of the two sanity tables in ``SOURCES.md`` (values as this build wrote them)."""
    row = places.set_index("id")
    zaf = row.loc["ZAF"]
    zaf_hiv = f"{zaf['hiv_prevalence_percent']:g} ({zaf['hiv_prevalence_year']})"
    values = [
        ("ZAF population 2022 (World Bank)", "59,893,885", f"{row.at['ZAF', 'population']:,}"),
        ("ZAF TB incidence 2022 /100k", "468", f"{row.at['ZAF', 'tb_incidence_per_100k']:g}"),
        ("ZAF HIV prevalence 15-49 %", "18.3 (2021)", zaf_hiv),
        ("IND TB incidence 2022 /100k", "199", f"{row.at['IND', 'tb_incidence_per_100k']:g}"),
    ]
    keyed = [t.set_index(["origin", "destination"])[col] for t, col in
             ((air, "n_routes"), (air, "distance_km"), (land, "distance_km"),
              (mig, "stock_2020"))]
    pairs = []
    for o, d in (("USA", "MEX"), ("MEX", "USA"), ("ZAF", "MOZ"), ("MOZ", "ZAF"),
                 ("ZAF", "LSO"), ("LSO", "ZAF"), ("GBR", "IND"), ("IND", "GBR")):
        cells = [f"{s.at[(o, d)]:,}" if (o, d) in s.index else "absent" for s in keyed]
        pairs.append((f"{o}→{d}", *cells))
    return values, pairs


def render_sources(stats: dict) -> str:
    """The text of ``geo/SOURCES.md``: provenance, licences, method notes and measured counts.

    Parameters
    ----------
    stats : dict
        The tables and counts of a build (:func:`.build.build_stats`, plus
        ``countries_valid``).
    """
    sections = (intro_section(), files_section(stats), provenance_section(),
                place_methods_section(stats), layer_methods_section(stats),
                measured_section(stats), sanity_section(stats), caveats_section(stats))
    return "\n".join(sections)


def intro_section() -> str:
    """Title, how the folder is rebuilt and how its CSV files are read."""
    return """# geo/ — the embedded world dataset

Derived files built by the package `healthmob/geobuild/` from the raw public files in
`../shared/data` (described, with checks, in that folder's `SOURCES.md`). No raw file is
copied here. Rebuild from the repository root with

    healthmob build-geo --data ../shared/data

Read the CSV files with `pd.read_csv(path, keep_default_na=False, na_values=[""])`:
Namibia's ISO2 code is `NA`. Empty cells are missing values; nothing is imputed.
"""


def files_section(stats: dict) -> str:
    """``## Files``: one row per derived file, then what a place is."""
    places, air, land, mig = (stats[k] for k in ("places", "air", "land", "migration"))
    files = md_table(("File", "Rows", "Holds", "Built from"), [
        ("`places.csv`", len(places), "one row per place: ids, names, centre, population, "
         "TB and HIV burden", "Natural Earth, OpenFlights, WHO TB, World Bank, OWID/UNAIDS"),
        ("`countries.gpkg` (layer `countries`)", len(places), "`id`, `name`, MultiPolygon, "
         f"EPSG:4326, `make_valid` applied (all valid: {stats['countries_valid']})",
         "Natural Earth"),
        ("`air.csv`", len(air), "directed international place pairs: `n_routes`, "
         "`n_airport_pairs`, `distance_km`", "OpenFlights"),
        ("`land.csv`", len(land), f"land-border pairs in both directions ({len(land) // 2} "
         "borders), `distance_km` between centres, what the border lets through",
         "GeoDataSource; centres from OpenFlights; Border Infrastructure Data; Passport "
         "Index; closures and crossing counts of `healthmob/geobuild/borders.py`"),
        ("`migration.csv`", len(mig), "UN DESA 2024 migrant stock at "
         f"{', '.join(c[6:] for c in mig.columns if c.startswith('stock_'))}: `origin` = "
         "country of birth, `destination` = country of residence", "UN DESA"),
        ("`tourism.csv`", len(stats["tourism"]), "per country and year 2010-2022: arrivals "
         "(total, overnight, same-day, by mode) and departures, persons a year", "UN Tourism"),
        ("`visas.csv`", len(stats["visas"]), "directed pairs whose travellers need a visa "
         "(`required`), get one on arrival or online (`on_arrival`) or are refused "
         "(`no_admission`); absent pairs are visa free or not covered", "Passport Index"),
        ("`history.csv`", len(stats["history"]), "per place and year 2000-2023: WHO TB "
         "incidence (with interval), case detection ratio, notifications, TB-HIV share, TB "
         "deaths by HIV status; HIV prevalence 15-49, ART coverage, new HIV infections 15-49; "
         "population (empty where the source has no value)", "WHO TB 2025 release, World "
         "Bank / UNAIDS"),
        ("`notifications_who.csv`", len(stats["notifications_who"]), "observed table "
         "(docs/surveillance.md): per place and year 2000-2023, `c_newinc` (everyone) and "
         "`notif_foreign` (`country_of_birth = foreign`) where reported",
         "WHO TB notifications"),
        ("`notifications_england_wales.csv`", len(stats["notifications_england_wales"]),
         "observed table: England and Wales 1913-2016, all forms, `reporting_place = GBR` "
         "(the series covers England and Wales only)", "Public Health England"),
    ])
    points = places[places["shape"] == "point"]
    return f"""## Files

{files}

Places are the {len(places) - len(points)} Natural Earth 1:110m countries (`shape = polygon`)
and {len(points)} countries and territories of the WHO TB table with a World Bank population
that the 1:110m map leaves out (`shape = point`; no polygon in `countries.gpkg`, drawn as a
symbol on the maps): {", ".join(f"{i} {n}" for i, n in zip(points["id"], points["name"]))}.
`id` is `ISO_A3`, or `ISO_A3_EH` / `ADM0_A3` where `ISO_A3` is `-99`: FRA and NOR are standard
ISO codes; **KOS, CYN (N. Cyprus) and SOL (Somaliland) are Natural Earth codes, not ISO**, and
have no WHO or World Bank data. `iso2` is Natural Earth `ISO_A2_EH` (`XK` for Kosovo, `TW` for
Taiwan; empty for CYN and SOL), or WHO's for the point places.

`calibrations/<key>.csv` are not built here: they are the endemic calibrations of the shipped
configs, named by the sha256 of their inputs and read only by runs, written with
`healthmob calibrate CONFIG --output-dir geo/calibrations` (docs/calibration.md).
"""


def provenance_section() -> str:
    """``### Raw files used`` and ``### Publishers and licences``, with what they imply."""
    raw = md_table(("Raw file (under `../shared/data`)", "Origin repository", "Commit"),
                   [(f"`{p}`", r, f"`{k}`") for p, r, k in RAW])
    licences = md_table(("Source", "Publisher", "Year of data", "Licence / terms"), LICENCES)
    return f"""### Raw files used

{raw}

### Publishers and licences

{licences}

Consequences for the files here: `air.csv`, the `lat`/`lon` of `places.csv` and the distances
of `land.csv` are derived from OpenFlights, so a public release of them must credit OpenFlights
and be offered under ODbL 1.0. The `land.csv` pairs are CC BY-SA 4.0 (attribution sentence
above); mixing them with ODbL-derived distances in one file should be reviewed before a public
release. HIV values with `hiv_prevalence_source = OWID/UNAIDS` are non-commercial
(CC BY-NC-SA 3.0 IGO). WHO columns (`who_region`, `tb_*`) await confirmation of WHO's terms.
These data licences are separate from the code licence (GPL-3.0-or-later).
"""


def place_methods_section(stats: dict) -> str:
    """``## Columns and methods``, first part: the columns of ``places.csv`` and the centres."""
    places, c = stats["places"], stats["centres"].attrs
    return f"""## Columns and methods

`places.csv`:
- `id`, `iso2`, `name` (Natural Earth `NAME`), `continent`, `subregion` (Natural Earth).
- `who_region`: WHO `g_whoregion` (2022 row); empty when WHO has no row.
- `lat`, `lon`, `centre_source`: the population-centre proxy (below).
- `population`, `population_source`: World Bank SP.POP.TOTL 2022; else WHO `e_pop_num` 2022;
  else Natural Earth `POP_EST` (mostly 2019). Used: {counts(places["population_source"])}.
- `population_2002`: World Bank SP.POP.TOTL 2002 (empty where it has none); the yardstick
  of the 20-year population drift check (`healthmob/mobility/drift.py`).
- `tb_incidence_per_100k` (+ `_lo`, `_hi`): WHO `e_inc_100k` (+ bounds), 2022, all TB forms.
- `tb_hiv_percent`: WHO `e_tbhiv_prct` 2022, HIV-positive share of incident TB.
- `hiv_prevalence_percent`, `hiv_prevalence_year`, `hiv_prevalence_source`: HIV prevalence,
  ages 15-49, latest year with a value: World Bank SH.DYN.AIDS.ZS (UNAIDS estimates), else
  OWID/UNAIDS. Used: {counts(places["hiv_prevalence_source"])}.
  Years: {counts(places["hiv_prevalence_year"])}.
- `art_coverage_percent`, `art_coverage_year`: antiretroviral therapy coverage, percent of
  people living with HIV, latest year up to 2022: World Bank SH.HIV.ARTC.ZS (UNAIDS
  estimates, `hiv_wdi/`); empty where UNAIDS publishes none (most high-income countries,
  China): the endemic start then takes the subregion median. Years:
  {counts(places["art_coverage_year"])}.

**Population-centre proxy.** For each place, the OpenFlights airports filed under that
country (airports.dat country name → countries.dat ISO2 → place `iso2`) are weighted by the
number of resolved routes (domestic and international) that start or end at them; the centre
is the weighted mean of their positions as unit vectors on the sphere. Airports more than
{c["max_airport_km"]:g} km (geodesic) from the place's polygon are left out
({c["airports_dropped"]} airports, {c["route_ends_dropped"]} route ends: e.g. the Azores, Madeira,
the Canaries, and records with wrong coordinates such as an Alaskan airfield filed under
Belize). A mean that falls outside the polygon (archipelagos, countries around a sea) is moved
to the nearest point of the polygon. Places with no routed airport use a point on the polygon's
surface. A point place's centre is the route-weighted mean of its airports, or its capital
where it has no routed airport (Andorra, Monaco, San Marino). `centre_source`:
{counts(places["centre_source"])}.
This is an air-traffic-weighted proxy, not a census population centroid.
"""


def layer_methods_section(stats: dict) -> str:
    """``## Columns and methods``, second part: the layers and the travel counts."""
    land, tourism = stats["land"], stats["tourism"]
    year = tourism[tourism["year"] == 2019]
    return f"""\
`air.csv`: each OpenFlights route (one airline, one airport pair) is joined to airports.dat
by airport id. `n_routes` counts airline-routes, `n_airport_pairs` distinct directed airport
pairs, `distance_km` is the route-weighted mean WGS84 geodesic airport-to-airport distance
(pyproj.Geod). Only pairs of two distinct places count. countries.dat's third column is the
ISO2 code (the second is the FIPS/DAFIF code); names it lacks or misfiles are fixed in
`AIRPORT_COUNTRY_ISO2` (Palestine, West Bank, Myanmar, East Timor, Cote d'Ivoire, ...), and
Curacao (CUR) and Sint Maarten (SXM), filed under the dissolved Netherlands Antilles, in
`AIRPORT_IATA_COUNTRY`.

`land.csv`: GeoDataSource pairs whose two ISO2 codes are places, plus the fixed links
GeoDataSource does not list (`FIXED_LINKS`: Johor-Singapore Causeway, King Fahd Causeway,
Channel Tunnel, Oresund Bridge), made symmetric;
`distance_km` is the geodesic distance between the two centres above. What the border lets
through (`healthmob/geobuild/borders.py`):
- `typology`: Border Infrastructure Data, the higher of the two sides (1 no-man's-land,
  2 landmark, 3 checkpoint, 4 barrier, 5 fortified). Values: {counts(land["typology"])}.
- `crossing_point` (1 when both sides record a crossing point) and `crossing_infrastructure`
  (the lower side's 0 none, 1 basic, 2 extended).
- `visa`: what a citizen of the origin needs to enter the destination (Passport Index,
  January 2025): {counts(land["visa"])}.
- `closed_from`, `closed_to`, `closure_source`: closures to civilian crossings
  ({land["closed_from"].notna().sum()} directed rows); `counted_per_year`, `count_source`:
  published crossing counts ({land["counted_per_year"].notna().sum()} directed rows).

`migration.csv`: the UN DESA 2024 bilateral stock (ISO3 codes, female + male) at each date;
`origin` is the country of birth (of citizenship where the UN estimate is by citizenship).

`tourism.csv`: the UN Tourism workbook's rows joined to places by M49 code (the ISO 3166-1
numeric code, except the retired codes the workbook keeps for Ethiopia 230, Germany 280,
Sudan 736 and Yemen 886); thousands turned into persons a year. `series` is the country's
basis (VF all visitors, TF overnight visitors, TCE/THS overnight visitors in collective or
hotel establishments). In 2019: arrivals by mode {year["arrivals_by_mode"].notna().sum()},
air {year["arrivals_air"].notna().sum()}, land {year["arrivals_land"].notna().sum()},
overnight arrivals {year["arrivals_overnight"].notna().sum()}, departures
{year["departures_total"].notna().sum()}, overnight departures
{year["departures_overnight"].notna().sum()} countries.
"""


def measured_section(stats: dict) -> str:
    """``## Measured by this build``: route, border and migrant counts, gaps, field coverage."""
    places, air, land, mig = (stats[k] for k in ("places", "air", "land", "migration"))
    a = air.attrs
    lacking = "\n".join(
        f"- No {label} ({len(ids)}): {', '.join(ids)}" for label, ids in (
            (label, places.loc[places[col].isna(), "id"].tolist()) for label, col in (
                ("WHO TB estimates nor WHO region", "tb_incidence_per_100k"),
                ("`tb_hiv_percent`", "tb_hiv_percent"),
                ("HIV prevalence", "hiv_prevalence_percent"))))
    fallback = places.loc[~places["population_source"].str.startswith("World Bank"), "id"]
    coverage = md_table(("Column", "Non-empty"),
                        [(f"`{k}`", v) for k, v in places.notna().sum().items()])
    return f"""## Measured by this build

- Routes: {a["routes"]:,} in routes.dat; {a["resolved"]:,} resolve to airports at both ends;
  {a["international"]:,} are international between places, over {len(air):,} directed pairs.
- Land borders: {len(land) // 2} between places ({len(land)} directed rows).
- Migration: {len(mig):,} directed pairs; migrants {", ".join(
    f"{c[6:]} {int(mig[c].sum()):,}" for c in mig.columns if c.startswith("stock_"))}.
- Population from a fallback source: {", ".join(fallback)}.
{lacking}

Field coverage in `places.csv` (non-empty values out of {len(places)}):

{coverage}
"""


def sanity_section(stats: dict) -> str:
    """``## Sanity values checked``: known raw values against this build, and known pairs."""
    values, pairs = sanity_rows(*(stats[k] for k in ("places", "air", "land", "migration")))
    checks = md_table(("Check", "Expected (raw file)", "This build"), values)
    pair_table = md_table(("Pair", "air `n_routes`", "air `distance_km`", "land `distance_km`",
                           "migration `stock_2020`"), pairs)
    return f"""## Sanity values checked

{checks}

{pair_table}
"""


def caveats_section(stats: dict) -> str:
    """``## Caveats``: missing airports and the places some layer leaves out."""
    a = stats["air"].attrs
    top = ", ".join(f"{k} {v}" for k, v in stats["unresolved_airports"].items())
    return f"""## Caveats

- OpenFlights routes are a June 2014 snapshot. {a["routes"] - a["resolved"]:,} routes name an
  airport id missing from airports.dat, or none; the most frequent (route ends): {top}.
  The airports with most such routes are added by hand (`MISSING_AIRPORTS`:
  {", ".join(stats["added_airports"])}), so Qatar's air links are there.
- Places with no air pair: {", ".join(stats["no_air"])}. OpenFlights files Pristina under
  Serbia, Ercan under Cyprus, and Hargeisa and Berbera under Somalia, so their routes count
  for SRB, CYP and SOM.
- Places with no land border: {", ".join(stats["no_land"])}. GeoDataSource has no Kosovo (XK)
  rows, and CYN and SOL have no ISO2 code.
- Places with no migration pair: {", ".join(stats["no_migration"]) or "none"}.
- Places without any UN Tourism count: {", ".join(stats["no_tourism"])}.
- Natural Earth's W. Sahara polygon here leaves out the coastal strip (Morocco's polygon
  covers it), so the airports filed under Western Sahara lie outside it.
"""
