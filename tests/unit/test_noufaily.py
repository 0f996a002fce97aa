"""The outbreak detector (Noufaily et al. 2013) against R's ``surveillance::farringtonFlexible``
and against what it must do on series whose answer is known."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from healthmob.surveillance.noufaily import NoufailyControl, detect


def _r_available() -> str | None:
    """Why the R comparison cannot run, or None when it can."""
    if shutil.which("Rscript") is None:
        return "Rscript not found (.ci/run installs r-cran-surveillance where apt-get works)"
    probe = subprocess.run(["Rscript", "-e", "library(surveillance)"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        return "R has no 'surveillance' package (Debian: r-cran-surveillance)"
    return None


def _r_numbers(values) -> str:
    return ",".join("NA" if not np.isfinite(v) else repr(float(v)) for v in values)


def _r_script(y, control: NoufailyControl, offset) -> str:
    n = len(y)
    population = np.ones(n) if offset is None else offset
    return f"""
s <- sts(observed = matrix(c({_r_numbers(y)}), ncol = 1), freq = {control.freq},
         start = c(2000, 1), population = matrix(c({_r_numbers(population)}), ncol = 1))
f <- farringtonFlexible(s, control = list(b = {control.b}, w = {control.w},
  noPeriods = {control.no_periods}, alpha = {control.alpha},
  populationOffset = {"FALSE" if offset is None else "TRUE"},
  thresholdMethod = "{control.threshold_method}", range = {control.first + 1}:{n},
  glmWarnings = FALSE))
for (v in list(upperbound(f)[, 1], f@control$expected[, 1], f@control$pvalue[, 1],
               as.numeric(alarms(f)[, 1])))
  cat(format(v, digits = 17), "\\n")
"""


def _series(seed: int, n: int, mean: float, size: float, outbreak: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.negative_binomial(size, size / (size + mean), n).astype(float)
    y[outbreak] += 4 * mean
    return y


CASES = [
    ("yearly", NoufailyControl(), False),
    ("yearly, model offset", NoufailyControl(), True),
    ("yearly, offset, muan", NoufailyControl(threshold_method="muan"), True),
    ("yearly, b = 3", NoufailyControl(b=3), False),
    ("monthly, Noufaily's 10 levels", NoufailyControl(freq=12, b=3, w=3, no_periods=10), False),
    ("monthly, offset", NoufailyControl(freq=12, b=2, w=2), True),
]


def _case(name, control, with_offset):
    n = 30 if control.freq == 1 else 12 * 6
    y = _series(sum(map(ord, name)), n, mean=40.0, size=5.0, outbreak=n - 4)
    return y, ((30 + 1.5 * np.arange(n)) if with_offset else None)


@pytest.fixture(scope="module")
def r_results():
    """farringtonFlexible's upper bounds, expected counts, p-values and alarms for every
    case, from one R process."""
    reason = _r_available()
    if reason:
        pytest.skip(reason)
    script = "suppressMessages(library(surveillance))\n"
    for name, control, with_offset in CASES:
        y, offset = _case(name, control, with_offset)
        script += _r_script(y, control, offset)
    result = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True,
                            check=True)
    rows = [np.array([np.nan if v == "NA" else float(v) for v in line.split()])
            for line in result.stdout.strip().splitlines()]
    keys = ("upper", "expected", "p_value", "alarm")
    return {case[0]: dict(zip(keys, rows[4 * k:4 * k + 4])) for k, case in enumerate(CASES)}


@pytest.mark.parametrize("name, control, with_offset", CASES, ids=[c[0] for c in CASES])
def test_thresholds_equal_r_surveillance(name, control, with_offset, r_results):
    y, offset = _case(name, control, with_offset)
    ours = detect(y, control, offset)
    reference = r_results[name]
    window = slice(control.first, len(y))
    for key in ("upper", "expected", "p_value"):
        np.testing.assert_allclose(getattr(ours, key)[window], reference[key], rtol=1e-6,
                                   atol=1e-9, err_msg=key)
    np.testing.assert_array_equal(ours.alarm[window], reference["alarm"].astype(bool))


def test_stable_poisson_series_expects_its_mean_and_alarms_at_the_nominal_rate():
    """Without a trend term (the surveillance stage's setting when the model's expected
    count is the offset), a stable series alarms at about alpha = 5%. With R's default
    trend test on five yearly points the rate is about 10% (docs/surveillance.md)."""
    rng = np.random.default_rng(0)
    runs = [detect(rng.poisson(50.0, 30).astype(float), NoufailyControl(trend=False))
            for _ in range(300)]
    expected = np.concatenate([r.expected[5:] for r in runs])
    alarms = np.concatenate([r.alarm[5:] for r in runs])
    assert abs(np.median(expected) / 50.0 - 1) < 0.05
    assert 0.03 < alarms.mean() < 0.065


def test_outbreak_alarms_and_offset_explains_it():
    """A doubling that the offset (say, twice the arrivals) predicts is no alarm with the
    offset and an alarm without it."""
    y = np.full(12, 100.0)
    y[-1] = 200.0
    offset = np.full(12, 50.0)
    offset[-1] = 100.0
    assert detect(y).alarm[-1]
    with_offset = detect(y, offset=offset)
    assert not with_offset.alarm[-1]
    assert with_offset.expected[-1] == pytest.approx(200.0, rel=1e-6)
