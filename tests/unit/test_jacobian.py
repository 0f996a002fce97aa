"""The implicit solvers' block Jacobian (healthmob/engine/jacobian.py) and what it gives."""

import dataclasses

import numpy as np
import scipy.sparse as sp

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.coupling import Coupling
from healthmob.engine.jacobian import ChainJacobian
from healthmob.engine.ode import simulate_deterministic
from healthmob.mobility.matrix import Mobility, MobilityLayer


def _rhs(compiled, coupling, x):
    return (compiled.derivative(x, coupling.force(compiled, x))
            + coupling.relocation_flux(x)).ravel()


def _without_infectious(compiled, rng):
    """A state with nobody infectious (the force, and its change, are then zero) and a
    direction that changes no infectious compartment."""
    infectious = compiled.weight_groups.sum(axis=0) > 0
    x = rng.uniform(10.0, 1000.0, (compiled.n_places, compiled.n_compartments))
    x[:, infectious] = 0.0
    v = rng.normal(size=x.shape)
    v[:, infectious] = 0.0
    return x, v


def test_the_jacobian_is_the_exact_derivative_of_the_chain_with_births():
    """Without infectious people the right-hand side is linear in the other compartments:
    the block Jacobian must then be exact (transitions, deaths re-entering as births,
    births beyond deaths)."""
    compiled = compile_model(load_model("tb_hiv"), 3)
    compiled = dataclasses.replace(compiled, growth_rate=np.array([1e-5, 0.0, -2e-5]))
    coupling = Coupling.none(3)
    x, v = _without_infectious(compiled, np.random.default_rng(1))
    jacobian = ChainJacobian(compiled, coupling)(x)
    step = 1e-3
    numeric = (_rhs(compiled, coupling, x + step * v) - _rhs(compiled, coupling, x)) / step
    assert np.allclose(jacobian @ v.ravel(), numeric, rtol=1e-7, atol=1e-9)


def test_relocation_departures_are_on_the_diagonal_and_nothing_crosses_places():
    compiled = compile_model(load_model("seir"), 3)
    flow = np.array([[0.0, 500.0, 0.0], [0.0, 0.0, 200.0], [100.0, 0.0, 0.0]])
    mobility = Mobility(("A", "B", "C"), {"migration": MobilityLayer(
        "migration", sp.csr_array(flow), "relocation")})
    coupling = Coupling.from_mobility(mobility, np.full(3, 1e5))
    x = np.array([[9e4, 10.0, 5.0, 0.0], [1e5, 0.0, 0.0, 0.0], [8e4, 0.0, 0.0, 1e4]])
    with_moves = ChainJacobian(compiled, coupling)(x)
    alone = ChainJacobian(compiled, Coupling.none(3))(x)
    departures = coupling.relocation_out_rates(compiled.n_compartments).ravel()
    assert np.allclose((with_moves - alone).diagonal(), -departures)
    rows, cols = with_moves.nonzero()
    assert np.array_equal(rows // compiled.n_compartments, cols // compiled.n_compartments)


def test_bdf_with_the_block_jacobian_agrees_with_rk45():
    """An epidemic spreading through visiting and relocation (where the Jacobian leaves
    out the force's change and the arrivals): the same trajectory to the tolerance."""
    compiled = compile_model(load_model("seir"), 3, {"beta": np.array([0.5, 0.4, 0.6])})
    visits = np.array([[0.0, 3000.0, 1000.0], [2000.0, 0.0, 500.0], [800.0, 400.0, 0.0]])
    moves = visits / 100.0
    mobility = Mobility(("A", "B", "C"), {
        "air": MobilityLayer("air", sp.csr_array(visits), "visiting", stay_days=3.0),
        "migration": MobilityLayer("migration", sp.csr_array(moves), "relocation")})
    x0 = np.array([[99_990.0, 0, 10, 0], [50_000.0, 0, 0, 0], [200_000.0, 0, 0, 0]])
    coupling = Coupling.from_mobility(mobility, x0.sum(axis=1))
    times = np.linspace(0.0, 200.0, 41)
    explicit = simulate_deterministic(compiled, x0, times, coupling, method="RK45",
                                      rtol=1e-8, atol=1e-8)
    implicit = simulate_deterministic(compiled, x0, times, coupling, method="BDF")
    assert explicit.state[-1, :, 3].min() > 1e4          # every place had its epidemic
    assert np.allclose(implicit.state, explicit.state, rtol=2e-5, atol=0.05)
    radau = simulate_deterministic(compiled, x0, times, coupling, method="Radau")
    assert np.allclose(radau.state, explicit.state, rtol=2e-5, atol=0.05)


def test_the_ordered_factorisation_solves_the_unpermuted_system():
    """The solver factors ``I - c J`` permuted by the Jacobian's ordering; its solves must
    still be those of the system in the engine's order (real and, for Radau, complex)."""
    from types import SimpleNamespace

    from scipy.sparse.linalg import spsolve

    from healthmob.engine.jacobian import _ordered_factorisation

    compiled = compile_model(load_model("tb_hiv"), 4)
    x = np.random.default_rng(2).uniform(1.0, 1e4, (4, compiled.n_compartments))
    jacobian = ChainJacobian(compiled, Coupling.none(4))
    assert sorted(jacobian.ordering) == list(range(4 * compiled.n_compartments))
    solver = SimpleNamespace(lu=None, solve_lu=None, nlu=0)
    _ordered_factorisation(solver, jacobian.ordering)
    rng = np.random.default_rng(3)
    for shift in (3.0, 2.0 + 1.5j):
        matrix = (shift * sp.identity(4 * compiled.n_compartments, format="csc")
                  - 7.0 * jacobian(x)).tocsc()
        b = rng.normal(size=matrix.shape[0]) * (1 + 0.5j if np.iscomplexobj(shift) else 1)
        assert np.allclose(solver.solve_lu(solver.lu(matrix), b), spsolve(matrix, b),
                           rtol=1e-10, atol=1e-12)
    assert solver.nlu == 2
