"""Mobility: places, corridors and the flows between them. The stage's entry point is
:func:`.build.build_mobility` (the ``[mobility]`` section is :mod:`.config`); it composes the
world layers (:mod:`.world`), corridor files (:mod:`.corridor_file`), flow models
(:mod:`.flow_models`) and travel times (:mod:`.travel_time`) into a :class:`~.matrix.Mobility`,
which :mod:`.files` writes as ``mobility.nc`` and ``corridors.gpkg``."""
