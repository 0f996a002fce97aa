"""Combine the member files into ``results.nc``, streaming block by block.

Each variable is a dask array whose blocks are read from the member files when written
(one member, or one block of places across members for the quantiles), with dask's
synchronous scheduler, so peak memory stays flat as members are added. The layout is
:mod:`healthmob.ensemble.summary`.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from ..results import initial_flag_variable
from ..schema import require_conforming
from ..store.netcdf import SPACE_MARGIN_BYTES, space_checked
from .plan import EnsemblePlan
from .summary import member_variables, place_blocks, quantile_variables, skeleton


def write_results(plan: EnsemblePlan, folder: Path, target: Path) -> None:
    """Combine the member files into ``target`` (NetCDF-4), streaming block by block.

    Each variable is a dask array whose blocks are read from the member files when written
    (one member, or one block of places across members for the quantiles), with dask's
    synchronous scheduler, so peak memory stays flat as members are added.
    """
    coords, variables, attrs = skeleton(plan)
    sizes = {name: len(values) for name, (dims, values, _) in coords.items()
             if dims == (name,)}
    sizes["place"] = plan.x0.shape[0]
    blocks = place_blocks(plan)
    member_parts = {key: dask.delayed(member_variables, pure=True)(plan, folder, *key)
                    for key in plan.keys}
    quantile_parts = {(s, i): dask.delayed(quantile_variables, pure=True)(plan, folder, s, b)
                      for s in range(plan.n_scenarios) for i, b in enumerate(blocks)}
    data = {}
    for name, (dims, dtype, var_attrs, kind) in variables.items():
        shape = tuple(sizes[d] for d in dims)
        if kind == "member":
            inner = shape[2:]
            rows = [[da.from_delayed(member_parts[(s, m)][name], inner, dtype=dtype)
                     for m in range(plan.members)] for s in range(plan.n_scenarios)]
            array = da.stack([da.stack(row) for row in rows])
        else:
            rows = []
            for s in range(plan.n_scenarios):
                parts = []
                for i, block in enumerate(blocks):
                    part_shape = (shape[1], shape[2], block.stop - block.start) + shape[4:]
                    parts.append(da.from_delayed(quantile_parts[(s, i)][name], part_shape,
                                                 dtype=dtype))
                rows.append(da.concatenate(parts, axis=2))
            array = da.stack(rows)
        data[name] = (dims, array, var_attrs)
    if plan.labels.initial_flag is not None:
        data.update(initial_flag_variable(plan.labels.initial_flag))
    ds = xr.Dataset(data, coords={k: xr.Variable(*v) for k, v in coords.items()}, attrs=attrs)
    require_conforming(ds, str(target))
    encoding = {}
    block = blocks[0].stop - blocks[0].start
    for name, var in ds.data_vars.items():
        if "time" not in var.dims:
            continue
        chunks = [1 if d in ("scenario", "member", "quantile") else n
                  for d, n in zip(var.dims, var.shape)]
        if "quantile" in var.dims:
            chunks[var.dims.index("place")] = block
        at = var.dims.index("time")
        while np.prod(chunks) > 2**20 and chunks[at] > 1:  # about 1M values per chunk
            chunks[at] = (chunks[at] + 1) // 2
        encoding[name] = {"zlib": True, "complevel": 1, "shuffle": True,
                          "chunksizes": tuple(chunks)}
    with dask.config.set(scheduler="synchronous"), space_checked(
            target, ds.nbytes + SPACE_MARGIN_BYTES) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
