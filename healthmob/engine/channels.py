"""The exits of the binomial chain: which ways out of a compartment compete, and where
people go (:mod:`healthmob.engine.binomial`). Built once per run; numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..disease.compile import CompiledModel
from .coupling import Coupling

RELOCATION = -2
"""Target of a relocation channel (handled apart from the disease)."""


@dataclass(frozen=True)
class Channels:
    """Index arrays fixed for a run: which exits compete and where people go.

    Arrays are compartment-major, ``(rows, P)``, so that per-compartment updates touch
    contiguous memory. A *channel* is one way out of a compartment: a transition, an
    infection or (with relocation) moving away.
    """

    exit_cols: np.ndarray | slice  # compartments with at least one exit
    base_hazard: np.ndarray        # (Ce, P) transition + relocation hazards (1/day)
    inf_exit: np.ndarray           # (K,) row of exit_cols of each infection's source
    channel_rates: np.ndarray      # (E, P) per-capita rates; infection rows refreshed per step
    infection_rows: slice          # rows of the infection channels
    channel_col: np.ndarray        # (E,) row of exit_cols of each channel's source
    split_steps: tuple             # ((channels, cols), ...) per rank, but the last
    channel_rank: np.ndarray       # (E,) rank of each channel among its row's exits
    last_channel: np.ndarray       # (Ce,) channel taking the remainder of each exit row
    targets: tuple                 # ((compartment, channel), ...) for every live target
    death_channels: np.ndarray
    reloc_channels: np.ndarray     # (C,) relocation channel of each compartment, or empty
    tally_pairs: tuple             # ((tally index, channel), ...)
    into: sp.csr_array | None      # (C, E) arrivals per channel, when there are many
    into_tally: sp.csr_array | None  # (n_tally, E) likewise for the tallies
    n_tally: int
    birth_target: int
    replace_deaths: bool


def plan_channels(compiled: CompiledModel, coupling: Coupling) -> Channels:
    n_places, n_comp = compiled.n_places, compiled.n_compartments
    n_tr, n_inf = len(compiled.tr_source), len(compiled.inf_source)
    relocating = coupling.relocation.nnz > 0
    sources = list(compiled.tr_source) + list(compiled.inf_source)
    targets = list(compiled.tr_target) + list(compiled.inf_target)
    rates = [compiled.tr_rate[:, j] for j in range(n_tr)] + [np.zeros(n_places)] * n_inf
    reloc_first = len(sources)
    if relocating:
        sources += list(range(n_comp))
        targets += [RELOCATION] * n_comp
        rates += [coupling.relocation_out] * n_comp
    sources, targets = np.array(sources, dtype=int), np.array(targets, dtype=int)
    channel_rates = np.array(rates, dtype=float).reshape(len(sources), n_places)
    exit_list = np.unique(sources)
    position = {c: i for i, c in enumerate(exit_list)}
    channel_col = np.array([position[c] for c in sources], dtype=int)
    n_exit = len(exit_list)
    base_hazard = np.zeros((n_exit, n_places))
    infection_rows = slice(n_tr, n_tr + n_inf)
    for e, col in enumerate(channel_col):
        if not n_tr <= e < n_tr + n_inf:
            base_hazard[col] += channel_rates[e]
    by_col = [np.flatnonzero(channel_col == i) for i in range(n_exit)]
    channel_rank = np.zeros(len(sources), dtype=int)
    for chans in by_col:
        channel_rank[chans] = np.arange(len(chans))
    split_steps = []
    for rank in range(max((len(c) for c in by_col), default=1) - 1):
        cols = [i for i, c in enumerate(by_col) if len(c) > rank + 1]
        chans = [by_col[i][rank] for i in cols]
        split_steps.append((np.array(chans), np.array(cols)))
    tally_matrix = np.vstack([compiled.tally_tr, compiled.tally_inf]) if n_tr + n_inf else np.zeros(
        (0, len(compiled.tally_names)))
    exit_cols = exit_list
    if n_exit and np.array_equal(exit_list, np.arange(exit_list[0], exit_list[0] + n_exit)):
        exit_cols = slice(int(exit_list[0]), int(exit_list[0]) + n_exit)  # a view, no copy
    return Channels(
        exit_cols=exit_cols, base_hazard=base_hazard,
        inf_exit=channel_col[infection_rows], channel_rates=channel_rates,
        infection_rows=infection_rows, channel_col=channel_col,
        split_steps=tuple(split_steps), channel_rank=channel_rank,
        last_channel=np.array([c[-1] for c in by_col], dtype=int),
        targets=tuple((int(t), e) for e, t in enumerate(targets) if t >= 0),
        death_channels=np.flatnonzero(targets == -1),
        reloc_channels=np.arange(reloc_first, len(sources)) if relocating else np.zeros(0, int),
        tally_pairs=tuple((int(t), int(e)) for e, t in zip(*np.nonzero(tally_matrix))),
        into=_incidence([(int(t), e) for e, t in enumerate(targets) if t >= 0],
                        (n_comp, len(sources))),
        into_tally=_incidence([(int(t), int(e)) for e, t in zip(*np.nonzero(tally_matrix))],
                              (tally_matrix.shape[1], len(sources))),
        n_tally=tally_matrix.shape[1], birth_target=compiled.birth_target,
        replace_deaths=compiled.replace_deaths)


def _incidence(pairs: list, shape: tuple) -> sp.csr_array | None:
    """0/1 matrix (row, channel) when there are enough pairs to beat a Python loop."""
    if len(pairs) <= _LOOP_LIMIT:
        return None
    rows, cols = zip(*pairs)
    return sp.csr_array((np.ones(len(pairs)), (rows, cols)), shape=shape)


_LOOP_LIMIT = 12
"""Up to this many updates, a loop of row additions; beyond, one sparse product."""
