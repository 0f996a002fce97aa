"""What a land border lets through: infrastructure, visas and closures, per directed pair.

Added to ``land.csv`` beside each directed land-border pair (origin -> destination):

``typology``
    The Border Infrastructure Data typology of the border, the higher of the two sides'
    (1 no-man's-land, 2 landmark: controls abolished, 3 checkpoint, 4 barrier, 5 fortified;
    Guelzau and Mau 2021). Empty where the pair is not a border of that data set (its
    borders are those of the Correlates of War direct-contiguity list).
``crossing_infrastructure``
    The lower of the two sides' ``bcp_infrastructure`` (0 none, 1 basic, 2 extended) at the
    pair's main crossing point; ``crossing_point`` is 1 when both sides record one.
``visa``
    What a citizen of the origin needs to enter the destination, from the Passport Index of
    January 2025: ``free`` (visa free, a number of visa-free days, or an electronic travel
    authorisation), ``on_arrival`` (visa on arrival or e-visa), ``required``,
    ``no_admission``.
``closed_from``, ``closed_to``, ``closure_source``
    First and last year of a closure to civilian crossings (:data:`CLOSURES`; ``closed_to``
    empty while it lasts) and where that is documented.
``counted_per_year``, ``count_source``
    Persons a year crossing in this direction where a crossing count is published
    (:data:`CROSSING_COUNTS`; a count of both directions is halved).

References
----------
Guelzau F, Mau S (2021). Walls, barriers, checkpoints, landmarks, and "no-man's-land": a
quantitative typology of border control infrastructure. Historical Social Research 46(3):23-48.
Ilyankou I (2025). Passport Index dataset (github.com/ilyankou/passport-index-dataset).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLOSURES: dict[tuple[str, str], tuple[int, int | None, str]] = {
    ("KOR", "PRK"): (1953, None, "Korean Armistice Agreement, 27 July 1953: no civilian "
                     "crossing of the Demilitarized Zone"),
    ("ISR", "LBN"): (1948, None, "no civilian crossing since the 1949 armistice; Ras Naqoura "
                     "is used by UNIFIL only"),
    ("ISR", "SYR"): (1967, None, "Quneitra crossing on the 1974 ceasefire line: UN personnel "
                     "and a few authorised Golan residents only (reopened to UNDOF in Oct 2018)"),
    ("ARM", "AZE"): (1991, None, "closed since the first Nagorno-Karabakh war (1991)"),
    ("ARM", "TUR"): (1993, None, "Turkey closed the land border in April 1993"),
    ("DZA", "MAR"): (1994, None, "Algeria closed the land border in August 1994, after the "
                     "attack on the Atlas Asni hotel in Marrakech"),
    ("ERI", "ETH"): (1998, None, "closed by the 1998-2000 war; the crossings reopened on 11 "
                     "Sep 2018 and were all closed again by 22 Apr 2019 (Africanews)"),
    ("QAT", "SAU"): (2017, 2020, "Saudi Arabia closed the Salwa / Abu Samra crossing on 5 June "
                     "2017 (blockade of Qatar); reopened 9 January 2021"),
    ("RWA", "UGA"): (2019, 2021, "Rwanda closed the Gatuna/Katuna crossing in February 2019 "
                     "and barred its citizens from Uganda; reopened 31 January 2022"),
    ("RUS", "UKR"): (2022, None, "Ukraine closed its crossings with Russia after the full-scale "
                     "invasion of 24 February 2022"),
}
"""Land borders closed to civilian crossings: (place, place) -> (first year, last year or
None while it lasts, source). Sources: news and encyclopaedia pages read through the
project's search tool (``geo/MOBILITY.md`` lists them)."""

CROSSING_COUNTS: dict[tuple[str, str], tuple[float, str]] = {
    ("IND", "PAK"): (78_675 / 2, "Attari-Wagah, the one road crossing: 78,675 travellers in "
                     "April 2019 - March 2020, both directions (Indian official data reported "
                     "by the press)"),
    ("PAK", "IND"): (78_675 / 2, "as IND-PAK"),
    ("BGD", "IND"): (1_937_414 / 2, "Petrapole-Benapole, the largest crossing: 1,937,414 "
                     "passenger movements in FY 2022-23, both directions (Land Ports Authority "
                     "of India, reported by DD India)"),
    ("IND", "BGD"): (1_937_414 / 2, "as BGD-IND"),
    ("CHN", "PRK"): (0.9 * 200_000, "more than 200,000 foreign tourists in North Korea in "
                     "2018, 90 % of them Chinese, most by train or bus from Dandong (North "
                     "Korean National Tourism Bureau, reported by Daily NK, 2019)"),
}
"""Published crossing counts of borders whose flows a gravity model cannot know: directed
(origin, destination) -> (persons a year, source)."""


def visa_category(requirement: str) -> str:
    """The Passport Index requirement as one of ``free, on_arrival, required, no_admission``.

    An electronic travel authorisation (``eta``: Canada's eTA, Australia's ETA, ...) is
    granted online in minutes without a consular visa: it counts as visa free. A visa on
    arrival and an e-visa count as ``on_arrival``."""
    text = str(requirement).strip().lower()
    if text.isdigit() or text in ("visa free", "eta"):
        return "free"
    if text in ("visa on arrival", "e-visa"):
        return "on_arrival"
    if text == "no admission":
        return "no_admission"
    if text == "visa required":
        return "required"
    return ""


def build_visa_table(passports: pd.DataFrame, place_ids) -> pd.DataFrame:
    """``visas.csv``: the directed place pairs whose travellers are not visa free.

    Parameters
    ----------
    passports : DataFrame
        Passport Index (``Passport, Destination, Requirement``, ISO3).
    place_ids : iterable of str

    Returns
    -------
    DataFrame
        ``origin`` (the passport, taken for the country of residence), ``destination``,
        ``visa`` (``on_arrival``, ``required`` or ``no_admission``), sorted. A pair that is
        absent is visa free, or not covered (territories without their own passport).
    """
    ids = set(place_ids)
    table = passports.assign(visa=passports["Requirement"].map(visa_category))
    table = table[table["Passport"].isin(ids) & table["Destination"].isin(ids)
                  & table["visa"].isin(["on_arrival", "required", "no_admission"])]
    table = table.rename(columns={"Passport": "origin", "Destination": "destination"})
    return table[["origin", "destination", "visa"]].sort_values(
        ["origin", "destination"], ignore_index=True)


def add_border_attributes(land: pd.DataFrame, infrastructure: pd.DataFrame,
                          passports: pd.DataFrame) -> pd.DataFrame:
    """``land`` (``origin, destination, distance_km``) with the columns of the docstring.

    Parameters
    ----------
    land : DataFrame
        Directed land-border pairs (:func:`.layers.build_land_layer`).
    infrastructure : DataFrame
        Border Infrastructure Data, one row per (builder ``state1``, ``state2``).
    passports : DataFrame
        Passport Index (``Passport, Destination, Requirement``, ISO3).
    """
    out = land.copy()
    pairs = set(zip(out["origin"], out["destination"]))
    stray = [pair for pair in (*CLOSURES, *CROSSING_COUNTS) if pair not in pairs]
    if stray:
        raise ValueError(f"closures or crossing counts on pairs that are not land borders "
                         f"between places: {stray}")
    side = infrastructure.set_index(["state1", "state2"])
    there = pd.MultiIndex.from_arrays([out["origin"], out["destination"]])
    back = pd.MultiIndex.from_arrays([out["destination"], out["origin"]])

    def both(column):
        return (side[column].reindex(there).to_numpy(dtype=float),
                side[column].reindex(back).to_numpy(dtype=float))

    typology, typology_back = both("typology")
    out["typology"] = _combine(typology, typology_back, np.fmax)
    infra, infra_back = both("bcp_infrastructure")
    out["crossing_infrastructure"] = _combine(infra, infra_back, np.fmin)
    has_bcp = side["bcp"].notna().astype(float)
    a, b = has_bcp.reindex(there).to_numpy(), has_bcp.reindex(back).to_numpy()
    out["crossing_point"] = _combine(a, b, np.fmin)
    visas = passports.set_index(["Passport", "Destination"])["Requirement"]
    out["visa"] = [visa_category(v) if isinstance(v, str) else "" for v in visas.reindex(there)]
    closures = [CLOSURES.get((o, d)) or CLOSURES.get((d, o)) for o, d in
                zip(out["origin"], out["destination"])]
    out["closed_from"] = pd.array([c[0] if c else None for c in closures], dtype="Int64")
    out["closed_to"] = pd.array([c[1] if c else None for c in closures], dtype="Int64")
    out["closure_source"] = [c[2] if c else "" for c in closures]
    counted = [CROSSING_COUNTS.get((o, d)) for o, d in zip(out["origin"], out["destination"])]
    out["counted_per_year"] = [round(c[0]) if c else None for c in counted]
    out["counted_per_year"] = out["counted_per_year"].astype("Int64")
    out["count_source"] = [c[1] if c else "" for c in counted]
    return out


def _combine(a: np.ndarray, b: np.ndarray, how) -> pd.array:
    """Both sides combined by ``how`` (either side alone where the other is missing)."""
    value = np.where(np.isnan(a), b, np.where(np.isnan(b), a, how(a, b)))
    return pd.array(np.where(np.isnan(value), None, value), dtype="Int64")
