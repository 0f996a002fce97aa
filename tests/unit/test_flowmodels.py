"""Flow models: gravity kernels, outflow conservation, radiation (the science brief #15)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from healthmob.mobility.flow_models import (
    constrain_outflows,
    gravity,
    gravity_weights,
    radiation,
    radiation_shares,
    scale_to_total,
)

# the science brief #15: origin 1,000; destinations 500, 200, 5,000 at increasing distance
TOY_POPULATION = np.array([1000.0, 500.0, 200.0, 5000.0])
TOY_DISTANCE = np.array([0.0, 10.0, 20.0, 30.0])
TOY_SHARES = [0.3333, 0.0784, 0.4390]


def test_radiation_toy_shares_match_simini():
    shares = radiation_shares(TOY_POPULATION, TOY_DISTANCE, 0, finite_size=False)
    assert shares[0] == 0.0
    np.testing.assert_allclose(shares[1:], TOY_SHARES, atol=5e-5)
    # without the correction the shares sum to 1 - N_i / N_tot
    assert shares.sum() == pytest.approx(1 - 1000 / 6700, rel=1e-12)


def test_radiation_finite_size_correction_makes_shares_sum_to_one():
    shares = radiation_shares(TOY_POPULATION, TOY_DISTANCE, 0, finite_size=True)
    np.testing.assert_allclose(shares[1:], np.array(TOY_SHARES) / (1 - 1000 / 6700),
                               atol=1e-4)
    assert shares.sum() == pytest.approx(1.0, rel=1e-12)


def test_radiation_counts_population_closer_than_the_destination_only():
    """Reordering places by index must not change shares: s_ij depends on distance."""
    perm = np.array([0, 3, 1, 2])
    shares = radiation_shares(TOY_POPULATION[perm], TOY_DISTANCE[perm], 0, finite_size=False)
    np.testing.assert_allclose(shares[[2, 3, 1]], TOY_SHARES, atol=5e-5)


@settings(max_examples=40, deadline=None)
@given(population=arrays(np.float64, 6, elements=st.floats(1, 1e7)),
       coords=arrays(np.float64, (6, 2), elements=st.floats(0, 100)),
       rate=st.floats(1e-4, 1.0))
def test_radiation_with_correction_conserves_every_outflow(population, coords, rate):
    distance = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
    outflow = rate * population
    flows = radiation(population, distance, outflow, finite_size=True)
    assert np.all(np.diag(flows) == 0)
    assert np.all(flows >= 0)
    np.testing.assert_allclose(flows.sum(axis=1), outflow, rtol=1e-9)


def test_gravity_power_and_exponential_kernels():
    w = gravity_weights([100.0, 100.0], [400.0, 400.0], [10.0, 20.0], kernel="power",
                        exponent_origin=1.0, exponent_destination=0.5, exponent_distance=2.0)
    np.testing.assert_allclose(w, [100 * 20 / 100, 100 * 20 / 400])
    w = gravity_weights([100.0], [400.0], [50.0], kernel="exponential", scale_km=25.0)
    np.testing.assert_allclose(w, [100 * 400 * np.exp(-2.0)])
    with pytest.raises(ValueError, match="kernel must be one of"):
        gravity_weights([1.0], [1.0], [1.0], kernel="cubic")
    with pytest.raises(ValueError, match="distance_km must be > 0"):
        gravity_weights([1.0], [1.0], [0.0], kernel="power")


@settings(max_examples=40, deadline=None)
@given(weights=arrays(np.float64, 12, elements=st.floats(0, 1e6, allow_subnormal=False)),
       origin=arrays(np.int64, 12, elements=st.integers(0, 3)),
       outflow=arrays(np.float64, 4, elements=st.floats(0, 1e5, allow_subnormal=False)))
def test_constrained_flows_conserve_outflows(weights, origin, outflow):
    flows = constrain_outflows(weights, origin, outflow)
    sums = np.bincount(origin, weights=flows, minlength=4)
    has_weight = np.bincount(origin, weights=weights, minlength=4) > 0
    np.testing.assert_allclose(sums[has_weight], outflow[has_weight], rtol=1e-9)
    assert np.all(sums[~has_weight] == 0)


def test_dense_gravity_rows_sum_to_outflow_or_total():
    population = np.array([1e6, 2e6, 5e5, 3e6])
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 500, (4, 2))
    distance = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    outflow = 0.01 * population
    for kernel in ("power", "exponential"):
        flows = gravity(population, distance, outflow=outflow, kernel=kernel)
        np.testing.assert_allclose(flows.sum(axis=1), outflow, rtol=1e-12)
        assert np.all(np.diag(flows) == 0)
    total = gravity(population, distance, total=1234.0).sum()
    assert total == pytest.approx(1234.0)
    assert scale_to_total(np.zeros(3), 5.0).sum() == 0.0
