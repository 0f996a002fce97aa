"""The surveillance stage: observed notifications of a run's places against the run.

:func:`surveil_run` reads an observed table (:mod:`.observed`), matches every series to the
model's expected count (:mod:`.expected`) and writes into the run directory:

- ``surveillance.nc``: per series and year the observed count, the model's expected count
  with its 95% interval, the baseline (the model's expectation scaled by the ratio
  observed/expected of the 5 previous years: the Noufaily et al. regression with the model
  as offset) with its 95% prediction interval, the alarm threshold (the predictive
  distribution's 95% quantile; R's plug-in threshold beside it), p-value,
  false-discovery-rate q-value and alarms; the same detector without the model (R's
  defaults: last years' counts with a trend); and the negative-binomial CUSUM.
- ``alerts.csv``: one row per alarm (algorithm, observed, expected, threshold, the share of
  the observed count the model explains).
- ``surveillance_funnel.png``, ``surveillance_series.png`` and ``surveillance_map.png``.

Nothing is written before every input has been checked.
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .. import __version__
from ..disease.parse import load_model
from ..errors import DataError, RunError
from ..store.atomic import write_text_atomic
from ..store.netcdf import write_dataset
from ..store.resources import data_dir
from .cusum import KAPPA, THRESHOLD, nb_cusum
from .decompose import decompose, parse_request
from .expected import ModelCounts, Series, match_series
from .fit import RATIOS, fit_selection, parameters_toml
from .noufaily import NoufailyControl, detect
from .observed import SHIPPED, STRATA, observed_file, read_observed, within_run
from .predictive import quantiles, upper_tail

log = logging.getLogger(__name__)

#: the detector with the model's expected count as offset: the offset carries the trend
WITH_MODEL = NoufailyControl(trend=False)
#: the detector of last years' counts only (R's farringtonFlexible defaults, yearly data)
WITHOUT_MODEL = NoufailyControl(trend=True)
ALPHA = 0.05


@dataclass(frozen=True)
class Surveillance:
    """What :func:`surveil_run` wrote: the dataset, the alerts, the files and, when asked
    for, the decomposition table."""

    dataset: xr.Dataset
    alerts: pd.DataFrame
    files: list[Path]
    decomposition: pd.DataFrame | None = None
    fitted: str | None = None
    """``fitted_selection.csv`` as text, when ``fit`` was asked for."""


def load_observed(value: str | Path, model: ModelCounts, base_dir: Path | None = None
                  ) -> tuple[pd.DataFrame, Path]:
    """Read and check the observed table; a shipped table is cut to the run's places and
    whole years (a user's file is checked as it is: every row must fit the run)."""
    path = observed_file(value, base_dir)
    table = read_observed(path)
    if str(value) in SHIPPED:
        table = within_run(table, model.places, model.years)
        if table.empty:
            raise DataError(f"{value}: no row of the shipped table falls in the run's places "
                            f"and years {model.years[0]}-{model.years[-1]}")
    return table, path


def surveil_run(run_dir: str | Path, observed: str | Path, *, base_dir: Path | None = None,
                decomposition: str | None = None, fit: bool = False) -> Surveillance:
    """Compare observed notifications with a finished run (module docstring).

    Parameters
    ----------
    run_dir : str or Path
        A run directory with ``results.nc``.
    observed : str or Path
        An observed CSV (``docs/surveillance.md``) or a shipped table's name
        (``who-notifications``, ``england-wales``).
    base_dir : Path, optional
        Folder a relative ``observed`` path is read from (default: the working folder).
    decomposition : str, optional
        ``"PLACE:FIRST:LAST"``: also split the change of the place's foreign-born
        notifications between the two years (:mod:`.decompose`), into
        ``decomposition.csv``.
    fit : bool
        Also fit the migrants' TB by region of birth to the observed foreign-born counts
        (:mod:`.fit`): ``fitted_selection.csv`` and ``fitted_parameters.toml``.

    Raises
    ------
    RunError
        ``run_dir`` has no ``results.nc``.
    DataError
        The observed table is unreadable or does not fit the run (one line, file and row).
    """
    run_dir = Path(run_dir)
    request = parse_request(decomposition) if decomposition else None
    results_path = run_dir / "results.nc"
    if not results_path.is_file():
        raise RunError(f"{run_dir}: not a finished run (no results.nc)")
    try:
        results = xr.open_dataset(results_path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise RunError(f"{results_path}: cannot be read: {exc}") from None
    with results:
        model = ModelCounts(results.load(), results_path)
    table, path = load_observed(observed, model, base_dir)
    bounds = pd.read_csv(data_dir("geo") / "history.csv", usecols=[
        "id", "year", "tb_incidence_per_100k_lo", "tb_incidence_per_100k_hi"])
    series = match_series(table, path, model, bounds)
    dataset = evaluate(series)
    dataset.attrs.update(
        title=f"healthmob surveillance of run {run_dir.name}", source=f"healthmob {__version__}",
        history=f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ} healthmob surveil "
                f"against {path.name}", observed_file=str(path), Conventions="CF-1.10",
        featureType="timeSeries")
    alerts = alert_table(dataset)
    parts = decompose(dataset, model, *request) if request else None
    fitted = _fit_files(dataset, model, run_dir, path) if fit else {}
    files = [write_dataset(dataset, run_dir / "surveillance.nc")]
    for name, text in fitted.items():
        write_text_atomic(run_dir / name, text)
        files.append(run_dir / name)
    write_text_atomic(run_dir / "alerts.csv", alerts.to_csv(index=False))
    files.append(run_dir / "alerts.csv")
    if parts is not None:
        write_text_atomic(run_dir / "decomposition.csv", parts.to_csv(index=False))
        files.append(run_dir / "decomposition.csv")
    from ..outputs.surveillance_figures import (  # matplotlib, geopandas: only here
        draw_funnel,
        draw_ratio_map,
        draw_series,
    )

    files.append(draw_funnel(dataset, run_dir / "surveillance_funnel.png"))
    files.append(draw_ratio_map(dataset, run_dir / "surveillance_map.png"))
    files.append(draw_series(dataset, run_dir / "surveillance_series.png"))
    if (run_dir / "report.html").is_file() and (run_dir / "risk.nc").is_file():
        from ..outputs.report import write_report  # the report gains its surveillance part

        files.append(write_report(run_dir))
    log.info("surveillance: %d series, %d alarms (%s)", dataset.sizes["series"], len(alerts),
             path.name)
    return Surveillance(dataset=dataset, alerts=alerts, files=files, decomposition=parts,
                        fitted=fitted.get("fitted_selection.csv"))


def _fit_files(dataset: xr.Dataset, model: ModelCounts, run_dir: Path, source: Path
               ) -> dict[str, str]:
    """``fitted_selection.csv`` and ``fitted_parameters.toml`` of :mod:`.fit` (text)."""
    if not (dataset["country_of_birth"].to_numpy() == "foreign").any():
        raise DataError(f"{source}: --fit needs foreign-born series (country_of_birth = "
                        "foreign)")
    places = pd.read_csv(data_dir("geo") / "places.csv", usecols=["id", "who_region"],
                         keep_default_na=False)
    found = fit_selection(dataset, model, dict(zip(places["id"], places["who_region"])))
    with open(run_dir / "config.toml", "rb") as handle:
        config = tomllib.load(handle)
    spec = load_model(config["model"], run_dir)
    declared = {}
    for name in RATIOS:
        if name not in spec.parameters:
            raise DataError(f"{run_dir}: the run's model {spec.name!r} has no {name}: "
                            "nothing to fit")
        parameter = spec.parameters[name]
        low, high = parameter.range or (0.0, np.inf)
        given = config.get("parameters", {}).get(name, parameter.value)
        if isinstance(given, dict):
            values = {"": float(given.get("value", parameter.value)),
                      **{r: float(v) for r, v in given.get("by_who_region", {}).items()}}
        else:
            values = {"": float(given)}
        declared[name] = (values, low, high)
    return {"fitted_selection.csv": found.table.to_csv(index=False),
            "fitted_parameters.toml": parameters_toml(found, declared, source.name)}


def evaluate(series: list[Series]) -> xr.Dataset:
    """The surveillance dataset of matched series (module docstring; no file written)."""
    years = series[0].years
    shape = (len(series), len(years))
    names = ("observed", "expected", "expected_log_sd", "baseline", "baseline_log_sd",
             "dispersion", "dispersion_df", "threshold_farrington_flexible",
             "baseline_without_model", "without_log_sd", "without_dispersion",
             "without_df", "cusum")
    values = {name: np.full(shape, np.nan) for name in names}
    cusum_alarm = np.zeros(shape, dtype=bool)
    for i, s in enumerate(series):
        with_model = detect(s.observed, WITH_MODEL, s.expected)
        without = detect(s.observed, WITHOUT_MODEL)
        values["observed"][i], values["expected"][i] = s.observed, s.expected
        values["expected_log_sd"][i] = s.relative_sd
        values["baseline"][i], values["baseline_log_sd"][i] = (with_model.expected,
                                                               with_model.log_sd)
        values["dispersion"][i] = with_model.dispersion
        values["dispersion_df"][i] = with_model.dispersion_df
        values["threshold_farrington_flexible"][i] = with_model.upper
        values["baseline_without_model"][i] = without.expected
        values["without_log_sd"][i] = without.log_sd
        values["without_dispersion"][i] = without.dispersion
        values["without_df"][i] = without.dispersion_df
        values["cusum"][i], cusum_alarm[i] = nb_cusum(s.observed, with_model.expected,
                                                      with_model.dispersion)
    phi, df = _dispersion(values["dispersion"], values["dispersion_df"])
    out = {name: values[name] for name in ("observed", "expected", "expected_log_sd",
                                           "baseline", "baseline_log_sd", "dispersion",
                                           "dispersion_df", "threshold_farrington_flexible",
                                           "baseline_without_model", "cusum")}
    bands = quantiles(values["expected"], values["expected_log_sd"], phi, (0.025, 0.975), df)
    out["expected_lower"], out["expected_upper"] = bands[..., 0], bands[..., 1]
    bands = quantiles(values["baseline"], values["baseline_log_sd"], phi,
                      (0.025, 0.975, 1 - ALPHA), df)
    out["baseline_lower"], out["baseline_upper"] = bands[..., 0], bands[..., 1]
    out["threshold"] = bands[..., 2]
    out["p_value"] = upper_tail(values["observed"], values["baseline"],
                                values["baseline_log_sd"], phi, df)
    phi_without, df_without = _dispersion(values["without_dispersion"], values["without_df"])
    out["threshold_without_model"] = quantiles(
        values["baseline_without_model"], values["without_log_sd"], phi_without, 1 - ALPHA,
        df_without)[..., 0]
    observed = values["observed"]
    enough = enough_cases(observed)
    alarms = {"alarm": enough & (observed > out["threshold"]),
              "alarm_without_model": enough & (observed > out["threshold_without_model"]),
              "cusum_alarm": cusum_alarm}
    q = np.full(shape, np.nan)
    for t in range(len(years)):
        tested = np.isfinite(out["p_value"][:, t])
        if tested.any():
            q[tested, t] = stats.false_discovery_control(out["p_value"][tested, t])
    out["q_value"] = q
    alarms["alarm_fdr"] = alarms["alarm"] & (q < ALPHA)
    data = {name: (("series", "year"), v, _ATTRIBUTES[name]) for name, v in out.items()}
    data.update({name: (("series", "year"), v.astype("i1"), _ATTRIBUTES[name])
                 for name, v in alarms.items()})
    coords = {"year": ("year", years, {"long_name": "calendar year of the period"}),
              "reporting_place": ("series", [s.place for s in series],
                                  {"long_name": "reporting place (ISO3)",
                                   "cf_role": "timeseries_id"}),
              "disease": ("series", [s.disease for s in series]),
              "label": ("series", [s.label for s in series])}
    for stratum in STRATA:
        coords[stratum] = ("series", [s.stratum[stratum] for s in series])
    return xr.Dataset(data, coords=coords)


def _dispersion(phi: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dispersion and its degrees of freedom, Poisson (1, known) where not estimated."""
    known = np.isfinite(phi)
    return np.where(known, phi, 1.0), np.where(known, df, np.inf)


def enough_cases(observed: np.ndarray) -> np.ndarray:
    """Noufaily et al.'s rule (``NoufailyControl.limit54``): an alarm needs at least 5 cases
    in the last 4 periods."""
    cases, periods = WITH_MODEL.limit54
    counts = np.nan_to_num(observed)
    window = np.cumsum(np.pad(counts, ((0, 0), (periods, 0))), axis=1)
    return (window[:, periods:] - window[:, :-periods]) >= cases


_COUNT = {"units": "1"}
_ATTRIBUTES = {
    "observed": {**_COUNT, "long_name": "notified cases in the year (observed)"},
    "expected": {**_COUNT, "long_name": "the model's expected notifications"},
    "expected_lower": {**_COUNT, "long_name": "2.5% quantile of the model's expected "
                       "notifications (WHO incidence bounds, the series' dispersion and its "
                       "uncertainty)"},
    "expected_upper": {**_COUNT, "long_name": "97.5% quantile of the model's expected "
                       "notifications (WHO incidence bounds, the series' dispersion and its "
                       "uncertainty)"},
    "baseline": {**_COUNT, "long_name": "baseline: the model's expectation times the ratio "
                 "observed/expected of the 5 previous years (Noufaily GLM with offset)"},
    "baseline_lower": {**_COUNT, "long_name": "2.5% prediction quantile of the baseline"},
    "baseline_upper": {**_COUNT, "long_name": "97.5% prediction quantile of the baseline"},
    "threshold": {**_COUNT, "long_name": "alarm threshold: 95% quantile of the baseline's "
                  "predictive distribution (negative binomial, dispersion and mean "
                  "estimated from the 5 previous years, their uncertainty integrated)"},
    "threshold_farrington_flexible": {**_COUNT, "long_name": "the 95% threshold of R "
                                      "surveillance's farringtonFlexible (nbPlugin, model "
                                      "offset): the same baseline with dispersion and mean "
                                      "taken as known"},
    "p_value": {"units": "1", "long_name": "P(count >= observed) under the baseline's "
                "predictive distribution"},
    "q_value": {"units": "1", "long_name": "Benjamini-Hochberg adjusted p-value across the "
                "series of the year"},
    "dispersion": {"units": "1", "long_name": "quasi-Poisson dispersion phi of the series' "
                   "5 previous years around the model"},
    "dispersion_df": {"units": "1", "long_name": "residual degrees of freedom of the "
                      "dispersion estimate (the intervals integrate over its uncertainty)"},
    "expected_log_sd": {"units": "1", "long_name": "sd of log(expected) from the WHO "
                        "incidence bounds of the place or of the origins of its foreign-born"},
    "baseline_log_sd": {"units": "1", "long_name": "standard error of log(baseline) "
                        "(regression, dispersion phi)"},
    "threshold_without_model": {**_COUNT, "long_name": "alarm threshold of the detector "
                                "without the model (last 5 years' counts with R's trend "
                                "rule), as threshold"},
    "baseline_without_model": {**_COUNT, "long_name": "baseline of the detector without the "
                               "model"},
    "cusum": {"units": "1", "long_name": f"negative-binomial CUSUM statistic for a rise by "
              f"a factor {KAPPA} above the baseline (alarm above {THRESHOLD})"},
    "alarm": {"units": "1", "long_name": "more notified than the model and migration "
              "explain: observed above threshold, with at least 5 cases in the last 4 "
              "years", "flag_values": [0, 1]},
    "alarm_fdr": {"units": "1", "long_name": "alarm that stays with q-value < 0.05",
                  "flag_values": [0, 1]},
    "alarm_without_model": {"units": "1", "long_name": "alarm of the detector without the "
                            "model", "flag_values": [0, 1]},
    "cusum_alarm": {"units": "1", "long_name": "CUSUM alarm (sustained rise)",
                    "flag_values": [0, 1]},
}


def alert_table(dataset: xr.Dataset) -> pd.DataFrame:
    """One row per alarm of any algorithm, by year and algorithm."""
    v = {name: dataset[name].to_numpy() for name in (*dataset.data_vars, *dataset.coords)}
    labels = ("reporting_place", "disease", *STRATA)
    rows = []
    for algorithm, flag, threshold, baseline in (
            ("noufaily_model_offset", "alarm", "threshold", "baseline"),
            ("noufaily_without_model", "alarm_without_model", "threshold_without_model",
             "baseline_without_model"),
            ("nb_cusum", "cusum_alarm", None, "baseline")):
        for a, b in zip(*np.nonzero(v[flag] == 1)):
            observed, expected = v["observed"][a, b], v["expected"][a, b]
            rows.append({
                "algorithm": algorithm, "year": int(v["year"][b]),
                **{k: str(v[k][a]) for k in labels},
                "observed": observed, "expected": round(float(expected), 1),
                "baseline": round(float(v[baseline][a, b]), 1),
                "threshold": float(v[threshold][a, b]) if threshold else np.nan,
                "share_explained_by_model": (round(float(expected / observed), 3) if observed
                                             else np.nan),
                "q_value": float(v["q_value"][a, b]),
                "alarm_after_fdr": bool(v["alarm_fdr"][a, b]) if flag == "alarm" else np.nan})
    columns = ["algorithm", "year", *labels, "observed", "expected", "baseline", "threshold",
               "share_explained_by_model", "q_value", "alarm_after_fdr"]
    return pd.DataFrame(rows, columns=columns).sort_values(["year", "algorithm"],
                                                           ignore_index=True)
