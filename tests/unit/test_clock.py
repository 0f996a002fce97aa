"""Progress lines of long loops: paced by wall time, naming where the loop is."""

import logging

import numpy as np

from healthmob.clock import Pace
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine import ode


def test_a_pace_is_due_once_its_seconds_have_passed():
    assert not Pace(3600.0).due()
    always = Pace(0.0)
    assert always.due() and always.due()


def test_a_deterministic_run_logs_the_day_it_has_reached(monkeypatch, caplog):
    monkeypatch.setattr(ode, "Pace", lambda: Pace(0.0))   # a line on every evaluation
    compiled = compile_model(load_model("seir"), 1, {"beta": 0.4})
    with caplog.at_level(logging.INFO, logger="healthmob"):
        ode.simulate_deterministic(compiled, np.array([[990.0, 0, 10, 0]]),
                                   np.linspace(0, 60, 13))
    days = [r.args[0] for r in caplog.records if r.msg.startswith("deterministic engine: day")]
    assert days and 0.0 <= min(days) and 55.0 < max(days) <= 60.0   # trial steps: any order
    assert all(r.args[1] == 60.0 for r in caplog.records if r.msg.startswith(
        "deterministic engine: day"))
