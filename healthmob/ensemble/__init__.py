"""Ensembles and sweeps, the only home of dask: the plan (:mod:`.plan`), one member
(:mod:`.members`), where members run (:mod:`.executors`), running and resuming
(:mod:`.run`), combining into ``results.nc`` (:mod:`.combine`, :mod:`.summary`); the
``[ensemble]`` and ``[cluster]`` sections are :mod:`.config`."""
