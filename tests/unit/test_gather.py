"""Corridor variables stored at the pairs with a flow (CF compression by gathering)."""

import numpy as np
import xarray as xr

from healthmob.store.gather import gather_pairs, gathered, scatter_pairs


def _dataset():
    rng = np.random.default_rng(4)
    keep = rng.random((6, 6)) < 0.3
    flow = np.where(keep, rng.random((6, 6)), 0.0)[..., None]
    time = np.where(keep, rng.random((6, 6)), np.nan)[..., None]
    found = np.where(keep[None], rng.random((2, 6, 6)), 0.0)
    mixed = rng.random((6, 6))                               # not uniform outside the pairs
    ids = [f"P{k}" for k in range(6)]
    return xr.Dataset({
        "flow": (("origin", "destination", "layer"), flow, {"units": "year-1"}),
        "travel_time": (("origin", "destination", "layer"), time, {"units": "day"}),
        "found": (("policy", "origin", "destination"), found, {"units": "year-1"}),
        "mixed": (("origin", "destination"), mixed, {"units": "1"}),
        "population": (("place",), np.arange(6.0), {"units": "1"})},
        coords={"origin": ids, "destination": ids, "place": ids, "layer": ["air"],
                "policy": ["a", "b"]}), keep


def test_gathered_corridors_scatter_back_value_for_value_in_their_dimension_order():
    ds, keep = _dataset()
    gathered = gather_pairs(ds, keep)
    assert gathered.sizes["pair"] == keep.sum()
    assert gathered["pair"].attrs["compress"] == "origin destination"
    assert gathered["found"].dims == ("pair", "policy")
    assert gathered["mixed"].dims == ("pair",)
    back = scatter_pairs(gathered)
    assert set(back.data_vars) == set(ds.data_vars)
    # not one value outside the pairs: kept at them, 0 elsewhere (no corridor there)
    np.testing.assert_array_equal(back["mixed"].values, np.where(keep, ds["mixed"], 0.0))
    for name in set(ds.data_vars) - {"mixed"}:
        assert back[name].dims == ds[name].dims, name
        np.testing.assert_array_equal(back[name].values, ds[name].values, name)
        assert back[name].attrs == ds[name].attrs, name


def test_a_gathered_file_round_trips_through_netcdf(tmp_path):
    ds, keep = _dataset()
    gather_pairs(ds, keep).to_netcdf(tmp_path / "risk.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "risk.nc", engine="h5netcdf") as stored:
        back = scatter_pairs(stored.load())
    np.testing.assert_array_equal(back["travel_time"].values, ds["travel_time"].values)
    assert scatter_pairs(ds) is ds                          # a dense file is left as it is


def test_a_variable_made_gathered_is_the_gathered_dense_one():
    ds, keep = _dataset()
    i, j = np.nonzero(keep)
    made = gathered(("policy", "origin", "destination"), ds["found"].values[:, i, j],
                    ds["found"].attrs)
    assert made.identical(gather_pairs(ds, keep)["found"].variable)
