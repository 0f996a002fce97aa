"""Disease models as data: a spec is read from ``models/*.toml`` (:mod:`.parse`, with
:mod:`.parameters` for rate expressions and :mod:`.product` for co-infection), held as a
:class:`~.spec.ModelSpec`, compiled to arrays every engine shares (:mod:`.compile`); the
individual's chain (:mod:`.chains`), observables and reproduction numbers are computed from
it. Numeric core: numpy and scipy only."""
