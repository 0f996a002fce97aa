"""Parameters that change over time: a schedule of compiled models in the ODE engine."""

import numpy as np

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.disease.schedule import Schedule
from healthmob.engine.ode import simulate_deterministic

SPEC = load_model("seir")


def test_a_one_piece_schedule_is_the_plain_run_bit_for_bit():
    compiled = compile_model(SPEC, 2, {"beta": np.array([0.3, 0.5])})
    x0 = np.array([[990.0, 0, 10, 0], [1000.0, 0, 0, 0]])
    times = np.linspace(0, 60, 13)
    plain = simulate_deterministic(compiled, x0, times)
    scheduled = simulate_deterministic(compiled, x0, times,
                                       schedule=Schedule.constant(compiled))
    assert np.array_equal(plain.state, scheduled.state)
    assert np.array_equal(plain.tally_rates, scheduled.tally_rates)


def test_a_two_piece_schedule_continues_from_where_the_first_piece_ended():
    first = compile_model(SPEC, 1, {"beta": 0.4})
    second = compile_model(SPEC, 1, {"beta": 0.1})
    x0 = np.array([[990.0, 0, 10, 0]])
    times = np.linspace(0, 60, 13)
    both = simulate_deterministic(first, x0, times,
                                  schedule=Schedule(np.array([0.0, 30.0]), (first, second)))
    head = simulate_deterministic(first, x0, times[:7])
    tail = simulate_deterministic(second, head.state[-1], times[6:] - 30.0)
    assert np.allclose(both.state[:7], head.state, rtol=1e-9)
    assert np.allclose(both.state[6:], tail.state, rtol=1e-5, atol=1e-6)
    # the tallies at the boundary are those of the model that starts there
    assert np.allclose(both.tally_rates[6], tail.tally_rates[0], rtol=1e-9)
    assert Schedule(np.array([0.0, 30.0]), (first, second)).at(30.0) is second


def test_consecutive_pieces_with_the_same_rates_are_integrated_as_one():
    """A projection that holds its parameters is one piece: the engine is not restarted
    every year (the held models are distinct objects with equal rates)."""
    first = compile_model(SPEC, 1, {"beta": 0.4})
    held = [compile_model(SPEC, 1, {"beta": 0.1}) for _ in range(3)]
    schedule = Schedule(np.array([0.0, 30.0, 60.0, 90.0]), (first, *held))
    assert [(lo, hi) for lo, hi, _ in schedule.pieces(0.0, 120.0)] == [(0.0, 30.0),
                                                                       (30.0, 120.0)]
