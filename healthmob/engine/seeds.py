"""The one seeding rule: every random stream of a run is a child of its root seed.

Stream ``key`` (a tuple of integers >= 0) of the root ``seed`` is
``numpy.random.SeedSequence(seed, spawn_key=key)``, which is the child
``SeedSequence(seed).spawn(...)[key[0]].spawn(...)[key[1]]...``: its numbers depend on the
seed and the key only, whatever else runs, in which order and on how many workers. Keys:

========================================= ==========================================
stream                                    key
========================================= ==========================================
ensemble member ``m`` of sweep scenario s ``(s, m)``
network member ``m`` of network ``t``     ``(t, m)``, then ``+ (0,)`` for the network
                                          and ``+ (1,)`` for the epidemic on it
arrival-time member ``m``                 ``(m,)``
========================================= ==========================================

The Latin-hypercube sample of a sweep draws from ``SeedSequence([seed, LHS_STREAM])``, a
stream that no key above reaches. Every generator is PCG64.
"""

from __future__ import annotations

import numpy as np

LHS_STREAM = 0x1A7E
"""Entropy word that separates the Latin-hypercube stream from every keyed stream."""


def stream(seed: int, *key: int) -> np.random.SeedSequence:
    """The seed sequence of stream ``key`` of root ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=tuple(key))


def generator(seed: int, *key: int) -> np.random.Generator:
    """A PCG64 generator on stream ``key`` of root ``seed``."""
    return np.random.Generator(np.random.PCG64(stream(seed, *key)))


def lhs_generator(seed: int) -> np.random.Generator:
    """The generator of a sweep's Latin-hypercube sample."""
    return np.random.default_rng(np.random.SeedSequence([seed, LHS_STREAM]))
